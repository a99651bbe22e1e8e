import type { CID } from 'multiformats/cid'

interface Want {
  cid: CID
  waiters: Array<{ resolve: () => void, reject: (err: Error) => void }>
}

/**
 * The blocks one fetch session wants and where each stands (the wantlist of
 * Bitswap, the IPFS block exchange): pending (nobody asked yet), in flight
 * (asked of some providers), coming (a provider sends it along with its
 * root), delivered; and which providers said they lack which block. Pure
 * bookkeeping: the session decides whom to ask and when.
 */
export class WantList {
  private readonly wanted = new Map<string, Want>()
  private readonly delivered = new Set<string>()
  /** peers that answered NOT_HERE, per CID */
  private readonly lacking = new Map<string, Set<string>>()
  private pending: CID[] = []
  /** roots whose only chunk providers are asked to send along */
  private readonly linkWanted = new Set<string>()
  /** chunks a provider is sending along with their root: not to be asked for again meanwhile */
  private readonly coming = new Set<string>()
  /** per CID asked for and not answered yet, the providers asked */
  private readonly inFlight = new Map<string, Set<string>>()

  /** Blocks wanted and not delivered yet. */
  get size (): number {
    return this.wanted.size
  }

  /** True while some wanted block is asked of nobody. */
  get hasPending (): boolean {
    return this.pending.length > 0
  }

  missing (): string[] {
    return [...this.wanted.keys()]
  }

  /**
   * Want `cids`: one promise per block not delivered yet, settled when it is
   * (or when the session fails). `withLink`: these are module roots, whose
   * only chunk a provider sends along.
   */
  add (cids: CID[], withLink: boolean): Array<Promise<void>> {
    const waits: Array<Promise<void>> = []
    for (const cid of cids) {
      const key = cid.toString()
      if (this.delivered.has(key)) continue
      let want = this.wanted.get(key)
      if (withLink) this.linkWanted.add(key)
      if (want == null) {
        want = { cid, waiters: [] }
        this.wanted.set(key, want)
        if (!this.coming.has(key)) this.pending.push(cid)
      }
      const waiters = want.waiters
      waits.push(new Promise<void>((resolve, reject) => { waiters.push({ resolve, reject }) }))
    }
    return waits
  }

  /** Whether a provider should send `cid`'s only chunk along with it. */
  wantsLink (cid: CID): boolean {
    return this.linkWanted.has(cid.toString())
  }

  /**
   * The next pending block `peerId` is not known to lack; else one in flight
   * only at providers that `slow` says are slow or gone (a hedged request:
   * the first answer is kept, the other dropped).
   */
  take (peerId: string, slow: (peerId: string) => boolean): CID | undefined {
    // a block released by one provider while another delivered it is no longer wanted
    this.pending = this.pending.filter(cid => this.wanted.has(cid.toString()))
    const i = this.pending.findIndex(cid => this.lacking.get(cid.toString())?.has(peerId) !== true)
    if (i >= 0) return this.pending.splice(i, 1)[0]
    for (const [key, peers] of this.inFlight) {
      if (peers.has(peerId) || this.lacking.get(key)?.has(peerId) === true) continue
      const want = this.wanted.get(key)
      if (want == null || this.coming.has(key)) continue
      if ([...peers].every(slow)) return want.cid
    }
    return undefined
  }

  /** `peerId` was asked for `cid` (`asked`), or answered or dropped it. */
  asking (cid: CID, peerId: string, asked: boolean): void {
    const key = cid.toString()
    let peers = this.inFlight.get(key)
    if (asked) {
      if (peers == null) this.inFlight.set(key, peers = new Set())
      peers.add(peerId)
    } else if (peers != null) {
      peers.delete(peerId)
      if (peers.size === 0) this.inFlight.delete(key)
    }
  }

  /** A provider sends `chunk` along with its root: not asked of anyone meanwhile. */
  comingAlong (chunk: CID): void {
    this.coming.add(chunk.toString())
  }

  /** A block a provider did not deliver goes back to the front of the queue (`lacks`: the provider said it has none). */
  release (cid: CID, peerId: string, lacks: boolean): void {
    const key = cid.toString()
    this.coming.delete(key)
    if (lacks) {
      let peers = this.lacking.get(key)
      if (peers == null) this.lacking.set(key, peers = new Set())
      peers.add(peerId)
    }
    // unless another provider is still asked for it
    if (this.wanted.has(key) && !this.delivered.has(key) && this.inFlight.get(key) == null && !this.pending.some(c => c.equals(cid))) this.pending.unshift(cid)
  }

  /** True when `cid` was delivered already (a second copy is dropped). */
  isDelivered (cid: CID): boolean {
    const key = cid.toString()
    if (!this.delivered.has(key)) return false
    this.coming.delete(key)
    return true
  }

  /** `cid` is kept: whoever waited for it goes on. */
  complete (cid: CID): void {
    const key = cid.toString()
    this.delivered.add(key)
    this.coming.delete(key)
    const want = this.wanted.get(key)
    this.wanted.delete(key)
    want?.waiters.forEach(w => { w.resolve() })
  }

  /** The session failed: every waiter is told, nothing is wanted any more. */
  failAll (err: Error): void {
    for (const want of this.wanted.values()) want.waiters.forEach(w => { w.reject(err) })
    this.wanted.clear()
    this.pending = []
  }
}
