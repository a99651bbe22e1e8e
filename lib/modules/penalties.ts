/** How long a provider that served bad bytes is passed over, the first time. */
export const PENALTY_MS = 10 * 60_000
/** Each further offence doubles it, up to this. */
export const MAX_PENALTY_MS = 24 * 60 * 60_000

export interface Penalty {
  peerId: string
  reason: string
  strikes: number
  /** epoch ms until which the peer is not asked for blocks */
  until: number
}

/**
 * Providers this node will not ask for blocks for a while: each served
 * bytes that did not hash to the CID asked for. Such a peer is buggy, rotten
 * or hostile; whichever, the next fetch should not start with it. Forgiven
 * after PENALTY_MS, doubling with every repeat.
 */
export class ProviderPenalties {
  private readonly byPeer = new Map<string, Penalty>()
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  penalise (peerId: string, reason: string): Penalty {
    const strikes = (this.byPeer.get(peerId)?.strikes ?? 0) + 1
    const penalty = { peerId, reason, strikes, until: this.now() + Math.min(PENALTY_MS * 2 ** (strikes - 1), MAX_PENALTY_MS) }
    this.byPeer.set(peerId, penalty)
    return penalty
  }

  isPenalised (peerId: string): boolean {
    const p = this.byPeer.get(peerId)
    return p != null && p.until > this.now()
  }

  /** Penalties still running (strikes are remembered after they end). */
  list (): Penalty[] {
    return [...this.byPeer.values()].filter(p => p.until > this.now())
  }
}
