import type { MemberEventType, MemberStatus, VerdictReason } from '../interface/api.js'
import type { Advert, Resources } from './wire.js'

export type { MemberEventType, MemberStatus }

export interface Suspicion {
  startedAt: number
  incarnation: number
  /** adverts with a higher seq than this prove the member lived after it was suspected */
  seqAtStart: number
  /** members that suspect it (this node included when its own probes failed) */
  confirmers: Set<string>
  /**
   * this node's own dial was refused (nothing listens at the member's
   * address): evidence that this node's slowness cannot have produced, so
   * its local-health multiplier does not stretch this suspicion
   */
  refused?: boolean
}

export interface Member {
  peerId: string
  status: MemberStatus
  incarnation: number
  seq: number
  /** local clock (ms) of the newest advert */
  lastAdvertAt: number
  /** newest advert or successful probe */
  lastHeardAt: number
  statusSince: number
  /** local clock (ms) when its own advert last brought it back from suspect or failed */
  recoveredAt?: number
  rttMs?: number
  addrs: string[]
  resources: Resources
  labels: Record<string, string>
  services: string[]
  version: string
  suspicion?: Suspicion
  /**
   * false while all we know came from a neighbour's member list (sync), not
   * from the member's own signed advert; its first advert then always applies
   */
  verified: boolean
}

/** A member as a neighbour reported it in a member-list sync. */
export type SyncEntry = Pick<Member, 'peerId' | 'incarnation' | 'addrs' | 'resources' | 'labels' | 'services' | 'version'>

export interface MemberEvent {
  type: MemberEventType
  peerId: string
  status: MemberStatus
  incarnation: number
  /** epoch ms */
  at: number
  by?: string
  reason?: VerdictReason
}

function sameStrings (a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function sameLabels (a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every(k => a[k] === b[k])
}

/**
 * The member table and its state machine. Pure: time comes in as arguments,
 * events go out as return values, so every transition is unit-testable.
 *
 * alive -> suspect (own failed probes, or a claim at >= its incarnation)
 * suspect -> failed (suspicion timed out), suspect/failed -> alive
 * ("recovered": a newer signed advert, or a refutation at a higher
 * incarnation), any -> left (its own `left` advert).
 */
export class MemberTable {
  private readonly members = new Map<string, Member>()
  readonly self: string

  constructor (self: string) {
    this.self = self
  }

  get (peerId: string): Member | undefined {
    return this.members.get(peerId)
  }

  all (): Member[] {
    return [...this.members.values()]
  }

  get size (): number {
    return this.members.size
  }

  /** Members counted for suspicion scaling: everyone not failed or left, plus self. */
  liveCount (): number {
    let n = 1
    for (const m of this.members.values()) if (m.status === 'alive' || m.status === 'suspect') n++
    return n
  }

  /** True if this advert is not newer than what we hold (replayed or reordered). */
  isStale (advert: Pick<Advert, 'peerId' | 'incarnation' | 'seq'>): boolean {
    const m = this.members.get(advert.peerId)
    if (m == null || !m.verified) return false
    return advert.incarnation < m.incarnation || (advert.incarnation === m.incarnation && advert.seq <= m.seq)
  }

  applyAdvert (advert: Advert, now: number, at: number = now): MemberEvent | undefined {
    if (advert.peerId === this.self || this.isStale(advert)) return undefined
    const prev = this.members.get(advert.peerId)
    const status: MemberStatus = advert.status === 'left' ? 'left' : 'alive'
    const next: Member = {
      peerId: advert.peerId,
      status,
      incarnation: advert.incarnation,
      seq: advert.seq,
      lastAdvertAt: now,
      lastHeardAt: now,
      statusSince: prev?.status === status ? prev.statusSince : now,
      addrs: advert.addrs,
      resources: advert.resources,
      labels: advert.labels,
      services: advert.services,
      version: advert.version,
      verified: true,
      ...(prev?.rttMs != null ? { rttMs: prev.rttMs } : {}),
      ...(prev?.status === 'suspect' || prev?.status === 'failed' ? { recoveredAt: now } : prev?.recoveredAt != null ? { recoveredAt: prev.recoveredAt } : {})
    }
    this.members.set(advert.peerId, next)
    const event = (type: MemberEventType): MemberEvent => ({ type, peerId: next.peerId, status: next.status, incarnation: next.incarnation, at })

    if (prev == null) return status === 'left' ? undefined : event('join')
    if (status === 'left') return prev.status === 'left' ? undefined : event('left')
    if (prev.status === 'left' && prev.verified) return event('join')
    if (prev.status === 'suspect' || prev.status === 'failed') return event('recovered')
    const changed = !sameLabels(prev.labels, next.labels) || !sameStrings(prev.services, next.services) ||
      !sameStrings(prev.addrs, next.addrs) || prev.version !== next.version || prev.incarnation !== next.incarnation
    return changed ? event('update') : undefined
  }

  /**
   * A member said directly that it is leaving (its `left` advert may not
   * reach this node: gossip may not have meshed it yet). Taken unless this
   * node holds a newer incarnation; its seq makes adverts sent before it stale.
   */
  applyLeave (peerId: string, incarnation: number, seq: number, now: number): MemberEvent | undefined {
    const m = this.members.get(peerId)
    if (m == null || m.status === 'left' || incarnation < m.incarnation) return undefined
    const { suspicion: _s, ...rest } = m
    this.members.set(peerId, { ...rest, status: 'left', incarnation, seq: Math.max(m.seq, seq), statusSince: now, lastHeardAt: now })
    return { type: 'left', peerId, status: 'left', incarnation, at: now }
  }

  /**
   * Learn of a member from a neighbour's list (a newcomer catching up without
   * waiting a full advert interval). Only unknown members are added; what a
   * member says of itself in adverts always wins.
   */
  applySync (entry: SyncEntry, now: number, at: number = now): MemberEvent | undefined {
    if (entry.peerId === this.self || this.members.has(entry.peerId)) return undefined
    this.members.set(entry.peerId, {
      ...entry,
      status: 'alive',
      seq: 0,
      lastAdvertAt: now,
      lastHeardAt: now,
      statusSince: now,
      verified: false
    })
    return { type: 'join', peerId: entry.peerId, status: 'alive', incarnation: entry.incarnation, at }
  }

  /** A successful probe: the member lives even if its adverts are late. */
  markHeard (peerId: string, now: number, rttMs?: number): void {
    const m = this.members.get(peerId)
    if (m == null) return
    m.lastHeardAt = Math.max(m.lastHeardAt, now)
    if (rttMs != null) m.rttMs = rttMs
  }

  /**
   * `by` suspects `peerId` at `incarnation`. Ignored for claims about an older
   * incarnation (already refuted) and for members not alive or suspect.
   */
  suspect (peerId: string, by: string, incarnation: number, now: number, at: number = now): MemberEvent | undefined {
    const m = this.members.get(peerId)
    if (m == null || incarnation < m.incarnation) return undefined
    if (m.status === 'suspect' && m.suspicion != null) {
      m.suspicion.confirmers.add(by)
      return undefined
    }
    if (m.status !== 'alive') return undefined
    m.status = 'suspect'
    m.statusSince = now
    m.suspicion = { startedAt: now, incarnation: m.incarnation, seqAtStart: m.seq, confirmers: new Set([by]) }
    return { type: 'suspect', peerId, status: 'suspect', incarnation: m.incarnation, at }
  }

  /** Record that this node's own dial to a suspected member was refused. */
  markRefused (peerId: string): void {
    const m = this.members.get(peerId)
    if (m?.status === 'suspect' && m.suspicion != null) m.suspicion.refused = true
  }

  /**
   * Another member's suspicion of `peerId` at `incarnation` timed out. Ignored
   * for an older incarnation (refuted) and for members not alive or suspect.
   */
  fail (peerId: string, incarnation: number, now: number, at: number = now): MemberEvent | undefined {
    const m = this.members.get(peerId)
    if (m == null || incarnation < m.incarnation || (m.status !== 'alive' && m.status !== 'suspect')) return undefined
    return markFailed(m, now, at)
  }

  /** Whether any member is suspect (its suspicion's timeout is being watched). */
  hasSuspects (): boolean {
    for (const m of this.members.values()) if (m.status === 'suspect') return true
    return false
  }

  /** Suspects whose suspicion has outlived `timeoutFor(member)` (left suspect: the caller decides). */
  expiring (now: number, timeoutFor: (m: Member) => number): Member[] {
    return [...this.members.values()].filter(m => m.status === 'suspect' && m.suspicion != null && now - m.suspicion.startedAt >= timeoutFor(m))
  }

  /** This node reached a suspect itself: the suspicion ends without a refutation. */
  clearSuspicion (peerId: string, incarnation: number, now: number, at: number = now): MemberEvent | undefined {
    const m = this.members.get(peerId)
    if (m?.status !== 'suspect' || m.incarnation !== incarnation) return undefined
    m.status = 'alive'
    m.statusSince = now
    m.recoveredAt = now
    m.lastHeardAt = Math.max(m.lastHeardAt, now)
    m.suspicion = undefined
    return { type: 'recovered', peerId, status: 'alive', incarnation: m.incarnation, at }
  }

  /** Suspicions that have outlived `timeoutFor(member)` become failures. */
  expire (now: number, timeoutFor: (m: Member) => number, at: number = now): MemberEvent[] {
    const events: MemberEvent[] = []
    for (const m of this.members.values()) {
      if (m.status !== 'suspect' || m.suspicion == null) continue
      if (now - m.suspicion.startedAt >= timeoutFor(m)) events.push(markFailed(m, now, at))
    }
    return events
  }

  /** Forget members failed or left for longer than `afterMs`. */
  reap (now: number, afterMs: number): string[] {
    const gone: string[] = []
    for (const m of this.members.values()) {
      if ((m.status === 'failed' || m.status === 'left') && now - m.statusSince >= afterMs) {
        this.members.delete(m.peerId)
        gone.push(m.peerId)
      }
    }
    return gone
  }
}

function markFailed (m: Member, now: number, at: number): MemberEvent {
  m.status = 'failed'
  m.statusSince = now
  m.suspicion = undefined
  return { type: 'failed', peerId: m.peerId, status: 'failed', incarnation: m.incarnation, at }
}
