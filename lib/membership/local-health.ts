import { LAG_PER_HEALTH_POINT_MS, MAX_LOCAL_HEALTH } from './constants.js'

/**
 * Lifeguard's local health awareness (LHA): a node that is itself slow or
 * cut off should not rush to blame others. The score rises when this node's
 * direct probe failed but another member reached the target (the fault was
 * probably ours), when helpers of an indirect probe did not even answer
 * with a nack, and when it had to refute a suspicion of itself; it falls
 * with each successful direct probe. Event-loop lag adds points of its own.
 * All timeouts are multiplied by (1 + score).
 */
export class LocalHealth {
  private probeScore = 0
  private lagScore = 0
  private readonly lagPerPointMs: number

  constructor (lagPerPointMs: number = LAG_PER_HEALTH_POINT_MS) {
    this.lagPerPointMs = lagPerPointMs
  }

  get score (): number {
    return Math.min(MAX_LOCAL_HEALTH, this.probeScore + this.lagScore)
  }

  get multiplier (): number {
    return 1 + this.score
  }

  probeSucceeded (): void {
    this.probeScore = Math.max(0, this.probeScore - 1)
  }

  /** our direct probe failed where an indirect one succeeded */
  missedAck (): void {
    this.probeScore = Math.min(MAX_LOCAL_HEALTH, this.probeScore + 1)
  }

  /** helpers of an indirect probe did not answer at all (not even a nack) */
  missedNack (): void {
    this.probeScore = Math.min(MAX_LOCAL_HEALTH, this.probeScore + 1)
  }

  refuted (): void {
    this.probeScore = Math.min(MAX_LOCAL_HEALTH, this.probeScore + 1)
  }

  /** the p99 event-loop delay of the last interval */
  observeLag (lagMs: number): void {
    this.lagScore = Math.min(MAX_LOCAL_HEALTH, Math.floor(lagMs / this.lagPerPointMs))
  }
}
