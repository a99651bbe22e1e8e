import { DRAIN_LABEL, type MemberView } from '../interface/api.js'
import { DEFAULT_SETTLE_MS } from '../placement/constants.js'
import { explain, place, type PlacementExplanation, type PlacementMember, type PlacementResult } from '../placement/place.js'
import type { ServiceSpec } from '../placement/spec.js'

/** A recovery older than this no longer holds a member back (settle time is far shorter); forgotten. */
const FORGET_RECOVERY_MS = 3_600_000

export interface PlacementViewInit {
  /** the catalog's specs */
  specs: () => ServiceSpec[]
  /** this node's membership view, itself included */
  members: () => MemberView[]
  /** bounded-load epsilon (placement/place.ts) */
  epsilon?: number
}

/**
 * Placement of the catalog over this node's membership view, computed once
 * per change of either. Members back from failed are held back until they
 * have settled (hysteresis: a member that flaps must stay up a while before
 * replicas move to it); a join is not a flap, and this node's own start
 * would otherwise make every member look new.
 */
export class PlacementView {
  /** placements computed (a cache miss each) */
  computed = 0
  private readonly init: PlacementViewInit
  private cached?: { placement: PlacementResult, validUntil: number }
  /** when members came back from failed */
  private readonly recoveredAt = new Map<string, number>()

  constructor (init: PlacementViewInit) {
    this.init = init
  }

  /** A member came back from failed: it settles before it is given replicas. */
  recovered (peerId: string, at = Date.now()): void {
    this.recoveredAt.set(peerId, at)
  }

  /** The catalog or the view changed. */
  invalidate (): void {
    this.cached = undefined
  }

  /** Placement of the whole catalog; recomputed after a change, or when a recovered member's settle time ends. */
  current (): PlacementResult {
    const now = Date.now()
    if (this.cached != null && now < this.cached.validUntil) return this.cached.placement
    const placement = this.of(this.init.specs())
    this.computed++
    let validUntil = Number.POSITIVE_INFINITY
    for (const at of this.recoveredAt.values()) if (at + DEFAULT_SETTLE_MS > now) validUntil = Math.min(validUntil, at + DEFAULT_SETTLE_MS)
    this.cached = { placement, validUntil }
    return placement
  }

  /** Placement of `specs` over the same view (what a deploy would do). */
  of (specs: ServiceSpec[]): PlacementResult {
    return place(specs, this.members(), this.options())
  }

  /** The ranking behind one service's owners. */
  explain (name: string): PlacementExplanation | undefined {
    return explain(name, this.init.specs(), this.members(), this.options())
  }

  private members (): PlacementMember[] {
    const now = Date.now()
    for (const [peer, at] of this.recoveredAt) if (now - at > FORGET_RECOVERY_MS) this.recoveredAt.delete(peer)
    return this.init.members().map(m => ({
      peerId: m.peerId,
      status: m.status,
      statusForMs: this.recoveredAt.has(m.peerId) ? now - this.recoveredAt.get(m.peerId)! : Number.MAX_SAFE_INTEGER,
      resources: { cpus: m.resources.cpus, memTotal: m.resources.memTotal, slotsTotal: m.resources.slotsTotal },
      labels: m.labels,
      draining: m.labels[DRAIN_LABEL] === 'true'
    }))
  }

  private options (): { epsilon?: number } {
    return this.init.epsilon != null ? { epsilon: this.init.epsilon } : {}
  }
}
