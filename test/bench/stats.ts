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
export function summarise (samplesUs: ArrayLike<number>, wallMs: number): LatencyStats {
  const s = Array.from(samplesUs).sort((a, b) => a - b)
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

/** One figure over repeated rounds: the median round's value, and the lowest and highest. */
export interface RoundsStats extends LatencyStats {
  rounds: number
  spread: { perSec: [number, number], p50Us: [number, number], p99Us: [number, number] }
}

/**
 * The median of each figure over `rounds` (each figure's own median: the
 * rounds are interleaved with the baselines', so each saw the same host),
 * with its range, so a reader sees how much one run can be trusted.
 */
export function acrossRounds (rounds: LatencyStats[]): RoundsStats {
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    const mid = Math.floor(s.length / 2)
    return s.length % 2 === 1 ? s[mid]! : Math.round(((s[mid - 1]! + s[mid]!) / 2) * 10) / 10
  }
  const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)]
  const pick = (k: keyof LatencyStats): number[] => rounds.map(r => r[k])
  return {
    n: pick('n').reduce((a, b) => a + b, 0),
    meanUs: median(pick('meanUs')),
    p50Us: median(pick('p50Us')),
    p90Us: median(pick('p90Us')),
    p99Us: median(pick('p99Us')),
    maxUs: Math.max(...pick('maxUs')),
    perSec: median(pick('perSec')),
    rounds: rounds.length,
    spread: { perSec: range(pick('perSec')), p50Us: range(pick('p50Us')), p99Us: range(pick('p99Us')) }
  }
}
