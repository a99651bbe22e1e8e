import { PROB_FLOOR, argmax, softmaxInPlace } from './rules.js'

/**
 * How one source's scores are made probabilities before they are fused:
 * - `temperature`: softmax(log p / T), one parameter for the whole vector
 *   (Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural
 *   Networks", ICML 2017, section 4.2); for processors that give a vector;
 * - `platt`: the top label's confidence becomes sigmoid(a logit(p) + b)
 *   (Platt, "Probabilistic Outputs for Support Vector Machines", 1999),
 *   the rest shared by the other labels as before; for processors that give
 *   a label with a confidence;
 * - `none`: used as given.
 */
export type Calibration = { kind: 'none' } | { kind: 'temperature', t: number } | { kind: 'platt', a: number, b: number }

/** A labelled answer of one source: its probabilities and the true label's index. */
export interface Labelled {
  probs: ArrayLike<number>
  label: number
}

export function calibrate (c: Calibration, probs: ArrayLike<number>): Float64Array {
  const k = probs.length
  const out = new Float64Array(k)
  if (c.kind === 'temperature') {
    for (let i = 0; i < k; i++) out[i] = Math.log(Math.max(PROB_FLOOR, probs[i]!)) / c.t
    return softmaxInPlace(out)
  }
  for (let i = 0; i < k; i++) out[i] = probs[i]!
  if (c.kind === 'none') return out
  const top = argmax(probs)
  const p = clamp(probs[top]!)
  const q = sigmoid(c.a * logit(p) + c.b)
  const rest = 1 - p
  for (let i = 0; i < k; i++) {
    if (i === top) out[i] = q
    else out[i] = rest > PROB_FLOOR ? (1 - q) * probs[i]! / rest : (1 - q) / (k - 1)
  }
  return out
}

/** Mean negative log-likelihood of the true labels. */
export function nll (samples: readonly Labelled[], c: Calibration): number {
  let s = 0
  for (const x of samples) s -= Math.log(Math.max(PROB_FLOOR, calibrate(c, x.probs)[x.label]!))
  return s / Math.max(1, samples.length)
}

/**
 * The temperature that minimises the validation NLL: golden-section search
 * on log T over [1/20, 20] (the NLL is unimodal in T for a fixed vector).
 */
export function fitTemperature (samples: readonly Labelled[]): Calibration {
  const f = (u: number): number => nll(samples, { kind: 'temperature', t: Math.exp(u) })
  const g = (Math.sqrt(5) - 1) / 2
  let lo = Math.log(1 / 20)
  let hi = Math.log(20)
  let x1 = hi - g * (hi - lo)
  let x2 = lo + g * (hi - lo)
  let f1 = f(x1)
  let f2 = f(x2)
  while (hi - lo > 1e-4) {
    if (f1 <= f2) {
      hi = x2; x2 = x1; f2 = f1
      x1 = hi - g * (hi - lo); f1 = f(x1)
    } else {
      lo = x1; x1 = x2; f1 = f2
      x2 = lo + g * (hi - lo); f2 = f(x2)
    }
  }
  return { kind: 'temperature', t: Math.exp((lo + hi) / 2) }
}

/**
 * Platt's a and b by Newton's method on the log-likelihood of "the top
 * label is right", with Platt's smoothed targets (N+ + 1)/(N+ + 2) and
 * 1/(N- + 2) against overfitting a small set.
 */
export function fitPlatt (samples: readonly Labelled[]): Calibration {
  const xs: number[] = []
  const ys: number[] = []
  for (const s of samples) {
    const top = argmax(s.probs)
    xs.push(logit(clamp(s.probs[top]!)))
    ys.push(top === s.label ? 1 : 0)
  }
  const pos = ys.reduce((a, y) => a + y, 0)
  const neg = ys.length - pos
  const hiT = (pos + 1) / (pos + 2)
  const loT = 1 / (neg + 2)
  // a small ridge towards (1, 0) keeps the fit posed when every confidence is the same (x constant: a and b collinear)
  const ridge = 1e-3 * Math.max(1, xs.length)
  const target = (i: number): number => ys[i] === 1 ? hiT : loT
  const objective = (a: number, b: number): number => {
    let f = ridge * ((a - 1) ** 2 + b ** 2) / 2
    for (let i = 0; i < xs.length; i++) {
      const z = a * xs[i]! + b
      // -[t log s(z) + (1 - t) log(1 - s(z))], written to stay finite for large |z|
      f += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - target(i) * z
    }
    return f
  }
  let a = 1
  let b = 0
  let f = objective(a, b)
  // Newton's method with backtracking (Lin, Lin and Weng, "A note on Platt's probabilistic outputs", 2007):
  // a full step overshoots where the scores start saturated (p(1 - p) near 0)
  for (let iter = 0; iter < 100; iter++) {
    let ga = ridge * (a - 1); let gb = ridge * b; let haa = ridge; let hab = 0; let hbb = ridge
    for (let i = 0; i < xs.length; i++) {
      const p = sigmoid(a * xs[i]! + b)
      const d = p - target(i)
      const w = p * (1 - p)
      ga += d * xs[i]!; gb += d
      haa += w * xs[i]! * xs[i]!; hab += w * xs[i]!; hbb += w
    }
    const det = haa * hbb - hab * hab
    if (!(Math.abs(det) > 1e-12)) break
    const da = (hbb * ga - hab * gb) / det
    const db = (haa * gb - hab * ga) / det
    let step = 1
    let next = objective(a - da, b - db)
    while (next > f && step > 1e-10) {
      step /= 2
      next = objective(a - step * da, b - step * db)
    }
    if (next > f) break
    a -= step * da; b -= step * db
    const gain = f - next
    f = next
    if (gain < 1e-10 * Math.max(1, Math.abs(f))) break
  }
  return { kind: 'platt', a, b }
}

/** The calibration of the two that gives the lower validation NLL (none when neither beats the scores as given). */
export function fitCalibration (samples: readonly Labelled[]): Calibration {
  const candidates: Calibration[] = [{ kind: 'none' }, fitTemperature(samples), fitPlatt(samples)]
  let best = candidates[0]!
  let bestNll = nll(samples, best)
  for (const c of candidates.slice(1)) {
    const v = nll(samples, c)
    if (v < bestNll - 1e-9) { best = c; bestNll = v }
  }
  return best
}

function clamp (p: number): number {
  return Math.min(1 - PROB_FLOOR, Math.max(PROB_FLOOR, p))
}

function logit (p: number): number {
  return Math.log(p / (1 - p))
}

function sigmoid (x: number): number {
  return 1 / (1 + Math.exp(-x))
}
