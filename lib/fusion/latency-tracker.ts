/** Answers kept per processor for its p95. */
const WINDOW = 128
/** Below this many answers the descriptor's own p95 (if any) is used. */
const MIN_SAMPLES = 16

/**
 * Each processor's recent answer latencies, for the hedge delay: a call not
 * answered by the processor's p95 is hedged, so about one call in twenty is
 * sent twice (Dean and Barroso 2013 hedge at the 95th percentile for 5 %
 * extra load).
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
    const ring = this.rings.get(processor)
    if (ring == null || ring.count < MIN_SAMPLES) return fallback
    const sorted = Array.from(ring.values.subarray(0, ring.count)).sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]
  }

  snapshot (): Record<string, { samples: number, p95Ms: number | undefined }> {
    const out: Record<string, { samples: number, p95Ms: number | undefined }> = {}
    for (const [name, ring] of this.rings) out[name] = { samples: ring.count, p95Ms: this.p95(name) }
    return out
  }
}
