/**
 * What the fusion benchmark says of accuracies: a Wilson score interval
 * (Wilson 1927; Brown, Cai and DasGupta 2001 recommend it over the normal
 * approximation at these sizes) and McNemar's test for two classifiers
 * on the same items, exact (binomial on the discordant pairs; Edwards 1948,
 * Dietterich 1998 for comparing classifiers).
 */

export interface Accuracy {
  n: number
  correct: number
  accuracy: number
  /** 95 % Wilson score interval */
  ci95: [number, number]
}

const round = (x: number): number => Math.round(x * 10000) / 10000

export function accuracy (hits: readonly boolean[]): Accuracy {
  const n = hits.length
  const correct = hits.filter(Boolean).length
  const p = n > 0 ? correct / n : 0
  const z = 1.959964
  const denom = 1 + z * z / n
  const centre = (p + z * z / (2 * n)) / denom
  const half = (z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / denom
  return { n, correct, accuracy: round(p), ci95: n > 0 ? [round(Math.max(0, centre - half)), round(Math.min(1, centre + half))] : [0, 1] }
}

function logChoose (n: number, k: number): number {
  let s = 0
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i)
  return s
}

export interface McNemar {
  /** items only `a` got right */
  onlyA: number
  /** items only `b` got right */
  onlyB: number
  /** two-sided exact p-value */
  p: number
}

/** McNemar's exact test of `a` against `b` (the same items, in the same order). */
export function mcnemar (a: readonly boolean[], b: readonly boolean[]): McNemar {
  let onlyA = 0
  let onlyB = 0
  for (let i = 0; i < a.length; i++) {
    if (a[i] === true && b[i] !== true) onlyA++
    else if (a[i] !== true && b[i] === true) onlyB++
  }
  const n = onlyA + onlyB
  const k = Math.min(onlyA, onlyB)
  let tail = 0
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2)
  return { onlyA, onlyB, p: n === 0 ? 1 : Math.min(1, 2 * tail) }
}
