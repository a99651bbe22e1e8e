export interface Distribution {
  n: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/**
 * Nearest-rank percentiles; values in the unit they came in (ms, or % of a
 * core). The mean keeps one decimal: rounded to an integer, a CPU mean of
 * 3.4 % read as 3.
 */
export function distribution (values: number[]): Distribution {
  const s = [...values].sort((a, b) => a - b)
  const at = (q: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s[s.length - 1] ?? NaN,
    mean: s.length === 0 ? NaN : Math.round((s.reduce((a, b) => a + b, 0) / s.length) * 10) / 10
  }
}

/**
 * The largest of `values`, at least `floor`, by a loop: `Math.max(...values)`
 * passes every value as an argument and overflows the call stack past about
 * 120,000 of them (V8's argument limit), which a long rpc-load run reaches.
 */
export function largest (values: Iterable<number>, floor = -Infinity): number {
  let max = floor
  for (const v of values) if (v > max) max = v
  return max
}
