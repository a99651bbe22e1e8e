export interface LatencyStats {
  n: number
  meanUs: number
  p50Us: number
  p90Us: number
  p99Us: number
  maxUs: number
  perSec: number
}

/** Summarise per-operation latencies in microseconds. */
export function summarise (samplesUs: number[], wallMs: number): LatencyStats {
  const s = [...samplesUs].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
  const round = (x: number): number => Math.round(x * 10) / 10
  return {
    n: s.length,
    meanUs: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    p50Us: round(at(0.5)),
    p90Us: round(at(0.9)),
    p99Us: round(at(0.99)),
    maxUs: round(s[s.length - 1] ?? 0),
    perSec: Math.round(s.length / (wallMs / 1000))
  }
}
