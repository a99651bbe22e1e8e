import { PROB_FLOOR, softmaxInPlace } from './rules.js'

/**
 * The learned stacker (Wolpert, "Stacked generalization", Neural Networks
 * 5(2), 1992): a multinomial logistic regression whose features are each
 * source's log-probabilities and whether the source answered at all, so it
 * learns how the sources err together and what a missing one means.
 */
export interface Stacker {
  /** sources in feature order */
  sources: string[]
  /** k rows of (sources * k + sources) weights */
  weights: number[][]
  bias: number[]
}

/** One validation item: each source's calibrated probabilities (undefined: missing), and the true label. */
export interface StackSample {
  sources: ReadonlyMap<string, ArrayLike<number> | undefined>
  label: number
}

function features (sources: readonly string[], k: number, answers: ReadonlyMap<string, ArrayLike<number> | undefined>): Float64Array {
  const x = new Float64Array(sources.length * k + sources.length)
  sources.forEach((s, i) => {
    const p = answers.get(s)
    if (p == null) return
    for (let c = 0; c < k; c++) x[i * k + c] = Math.log(Math.max(PROB_FLOOR, p[c]!))
    x[sources.length * k + i] = 1
  })
  return x
}

export function stack (model: Stacker, k: number, answers: ReadonlyMap<string, ArrayLike<number> | undefined>): Float64Array {
  const x = features(model.sources, k, answers)
  const z = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    let s = model.bias[c]!
    const w = model.weights[c]!
    for (let j = 0; j < x.length; j++) s += w[j]! * x[j]!
    z[c] = s
  }
  return softmaxInPlace(z)
}

/**
 * Fit by full-batch gradient descent with Adam (Kingma and Ba, 2015) on the
 * mean cross-entropy plus an L2 penalty `l2` on the weights: the features
 * are few (tens) and the sets small (thousands), so this converges in
 * hundreds of steps without a solver dependency.
 */
export function fitStacker (sources: readonly string[], k: number, samples: readonly StackSample[], options: { l2?: number, steps?: number } = {}): Stacker {
  const l2 = options.l2 ?? 1e-3
  const steps = options.steps ?? 400
  const xs = samples.map(s => features(sources, k, s.sources))
  const d = sources.length * k + sources.length
  const w = Array.from({ length: k }, () => new Float64Array(d))
  const b = new Float64Array(k)
  const mw = Array.from({ length: k }, () => new Float64Array(d)); const vw = Array.from({ length: k }, () => new Float64Array(d))
  const mb = new Float64Array(k); const vb = new Float64Array(k)
  const lr = 0.05; const b1 = 0.9; const b2 = 0.999; const eps = 1e-8
  const z = new Float64Array(k)
  for (let step = 1; step <= steps; step++) {
    const gw = Array.from({ length: k }, () => new Float64Array(d))
    const gb = new Float64Array(k)
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!
      for (let c = 0; c < k; c++) {
        let s = b[c]!
        const wc = w[c]!
        for (let j = 0; j < d; j++) s += wc[j]! * x[j]!
        z[c] = s
      }
      softmaxInPlace(z)
      const y = samples[i]!.label
      for (let c = 0; c < k; c++) {
        const g = z[c]! - (c === y ? 1 : 0)
        if (g === 0) continue
        const gc = gw[c]!
        for (let j = 0; j < d; j++) gc[j] = gc[j]! + g * x[j]!
        gb[c] = gb[c]! + g
      }
    }
    const n = Math.max(1, xs.length)
    const c1 = 1 - Math.pow(b1, step); const c2 = 1 - Math.pow(b2, step)
    for (let c = 0; c < k; c++) {
      const wc = w[c]!; const gc = gw[c]!; const m = mw[c]!; const v = vw[c]!
      for (let j = 0; j < d; j++) {
        const g = gc[j]! / n + l2 * wc[j]!
        m[j] = b1 * m[j]! + (1 - b1) * g
        v[j] = b2 * v[j]! + (1 - b2) * g * g
        wc[j] = wc[j]! - lr * (m[j]! / c1) / (Math.sqrt(v[j]! / c2) + eps)
      }
      const g = gb[c]! / n
      mb[c] = b1 * mb[c]! + (1 - b1) * g
      vb[c] = b2 * vb[c]! + (1 - b2) * g * g
      b[c] = b[c]! - lr * (mb[c]! / c1) / (Math.sqrt(vb[c]! / c2) + eps)
    }
  }
  return { sources: [...sources], weights: w.map(r => Array.from(r)), bias: Array.from(b) }
}
