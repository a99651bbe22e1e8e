import { LAG_PER_HEALTH_POINT_MS, LOAD_PER_HEALTH_POINT, MAX_LOCAL_HEALTH } from './constants.js'

export interface LocalHealthInit {
  /** event-loop delay (p99) that adds one point */
  lagPerPointMs?: number
  /** host run queue per CPU, beyond the first, that adds one point; 0 turns the signal off */
  loadPerPoint?: number
  /**
   * The highest score, from the lag and load signals; the probe signal stops
   * at MAX_LOCAL_HEALTH (memberlist's 8) whatever this is. @default MAX_LOCAL_HEALTH
   */
  max?: number
}

/**
 * Lifeguard's local health awareness (LHA): a node that is itself slow or
 * cut off should not rush to blame others. The score rises when this node's
 * direct probe failed but another member reached the target (the fault was
 * probably ours), when helpers of an indirect probe did not even answer
 * with a nack, and when it had to refute a suspicion of itself; it falls
 * with each successful direct probe. Event-loop lag adds points of its own,
 * and so does the host's load average: on a host whose run queue is many
 * times its CPUs every process waits its turn, so acks and refutations are
 * late for everyone there, this node's siblings included, long before this
 * node's own event loop shows it. All timeouts are multiplied by (1 + score).
 * The score is capped (memberlist: 8); `local` lets lag and load take it
 * further (presets.ts, maxLocalHealth).
 */
export class LocalHealth {
  private probeScore = 0
  private lagScore = 0
  private loadScore = 0
  private readonly lagPerPointMs: number
  private readonly loadPerPoint: number
  private readonly max: number

  constructor (init: LocalHealthInit = {}) {
    this.lagPerPointMs = init.lagPerPointMs ?? LAG_PER_HEALTH_POINT_MS
    this.loadPerPoint = init.loadPerPoint ?? LOAD_PER_HEALTH_POINT
    this.max = init.max ?? MAX_LOCAL_HEALTH
  }

  get score (): number {
    return Math.min(this.max, this.probeScore + this.lagScore + this.loadScore)
  }

  get multiplier (): number {
    return 1 + this.score
  }

  /** the score's parts, for `GET /api/v1/membership/stats` */
  get parts (): { probe: number, lag: number, load: number } {
    return { probe: this.probeScore, lag: this.lagScore, load: this.loadScore }
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
    this.lagScore = Math.min(this.max, Math.floor(lagMs / this.lagPerPointMs))
  }

  /**
   * The host's 1-minute load average divided by its CPUs. Up to one
   * runnable process per CPU nobody waits; each `loadPerPoint` beyond that
   * adds a point.
   */
  observeLoad (loadPerCpu: number): void {
    if (this.loadPerPoint <= 0 || !Number.isFinite(loadPerCpu)) {
      this.loadScore = 0
      return
    }
    this.loadScore = Math.min(this.max, Math.floor(Math.max(0, loadPerCpu - 1) / this.loadPerPoint))
  }
}
