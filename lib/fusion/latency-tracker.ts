/** Answers kept per processor for its p95. */
const WINDOW = 128
/** Below this many answers the descriptor's own p95 (if any) is used. */
const MIN_SAMPLES = 16

/** The hedge delay is at most this many times the median. */
const MEDIAN_FACTOR = 3

/**
 * Each processor's recent answer latencies (the latency each fusion got:
 * the winner's, when a call was hedged), for the hedge delay: a call not
 * answered by the processor's p95 is hedged, so about one call in twenty is
 * sent twice (Dean and Barroso, "The Tail at Scale", 2013, hedge at the
 * 95th percentile for 5 % extra load). The delay is capped at 3x the
 * median: with one instance of three slow, a third of the answers are slow,
 * the p95 is the slow instance's own latency, and hedging at it would never
 * help (seen in bench:fusion: p99 70 ms at one caller, hedged, against a
 * 6.5 ms median).
 */
export class LatencyTracker {
  private readonly rings = new Map<string, { values: Float64Array, next: number, count: number }>()

  add (processor: string, ms: number): void {
    let ring = this.rings.get(processor)
    if (ring == null) {
      ring = { values: new Float64Array(WINDOW), next: 0, count: 0 }
      this.rings.set(processor, ring)
    }
    ring.values[ring.next] = ms
    ring.next = (ring.next + 1) % WINDOW
    ring.count = Math.min(WINDOW, ring.count + 1)
  }

  /** The p95 of the processor's recent answers, else `fallback` (the descriptor's), else undefined. */
  p95 (processor: string, fallback?: number): number | undefined {
    return this.quantiles(processor)?.p95 ?? fallback
  }

  /** When to hedge the processor's call: its p95, at most 3x its median; `fallback` (the descriptor's p95) until it has enough answers. */
  hedgeDelay (processor: string, fallback?: number): number | undefined {
    const q = this.quantiles(processor)
    if (q == null) return fallback
    return Math.min(q.p95, MEDIAN_FACTOR * q.p50)
  }

  private quantiles (processor: string): { p50: number, p95: number } | undefined {
    const ring = this.rings.get(processor)
    if (ring == null || ring.count < MIN_SAMPLES) return undefined
    const sorted = Array.from(ring.values.subarray(0, ring.count)).sort((a, b) => a - b)
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
    return { p50: at(0.5), p95: at(0.95) }
  }

  snapshot (): Record<string, { samples: number, p95Ms: number | undefined }> {
    const out: Record<string, { samples: number, p95Ms: number | undefined }> = {}
    for (const [name, ring] of this.rings) out[name] = { samples: ring.count, p95Ms: this.p95(name) }
    return out
  }
}
