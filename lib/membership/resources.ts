import { statfs } from 'node:fs/promises'
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { DISK_SAMPLE_MS, LAG_RESOLUTION_MS } from './constants.js'
import type { Resources } from './wire.js'

export interface ResourceSamplerInit {
  /** directory whose filesystem's free bytes are advertised (the repo) */
  diskPath?: string
  /** worker slots this node offers; @default availableParallelism() */
  slotsTotal?: number
}

/**
 * What a node advertises about itself. Event-loop delay comes from a
 * perf_hooks histogram reset at every sample, so each advert reports the p99
 * lag of the interval just ended (it also feeds Lifeguard's local health).
 */
export class ResourceSampler {
  private readonly histogram: IntervalHistogram
  private readonly diskPath?: string
  private diskFree = 0
  private diskSampledAt = 0
  private lastLagMs = 0
  slotsTotal: number
  slotsUsed = 0

  constructor (init: ResourceSamplerInit = {}) {
    this.histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })
    this.diskPath = init.diskPath
    this.slotsTotal = init.slotsTotal ?? availableParallelism()
  }

  start (): void {
    this.histogram.enable()
  }

  stop (): void {
    this.histogram.disable()
  }

  /** p99 event-loop delay over the last sampling interval, ms. */
  get loopLagMs (): number {
    return this.lastLagMs
  }

  async sample (): Promise<Resources> {
    // the histogram reports ns and includes the resolution itself; subtract it
    const p99 = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 - LAG_RESOLUTION_MS : 0
    this.lastLagMs = Math.max(0, Math.round(p99 * 10) / 10)
    this.histogram.reset()
    const now = Date.now()
    if (this.diskPath != null && now - this.diskSampledAt >= DISK_SAMPLE_MS) {
      this.diskSampledAt = now
      try {
        const s = await statfs(this.diskPath)
        this.diskFree = s.bavail * s.bsize
      } catch {
        // a vanished repo dir is reported as 0 free, not as a crash
        this.diskFree = 0
      }
    }
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg()
    return {
      cpus: availableParallelism(),
      load1: round2(load1),
      load5: round2(load5),
      load15: round2(load15),
      memTotal: totalmem(),
      memFree: freemem(),
      loopLagMs: this.lastLagMs,
      slotsTotal: this.slotsTotal,
      slotsUsed: this.slotsUsed,
      diskFree: this.diskFree
    }
  }
}

function round2 (x: number): number {
  return Math.round(x * 100) / 100
}
