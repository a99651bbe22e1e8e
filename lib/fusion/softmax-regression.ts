import { softmaxInPlace } from './rules.js'

/** A multinomial logistic regression: k rows of weights over the features, and k biases. */
export interface SoftmaxModel {
  weights: number[][]
  bias: number[]
}

/** The class probabilities of `x`. */
export function predictSoftmax (m: SoftmaxModel, x: ArrayLike<number>): Float64Array {
  const k = m.bias.length
  const z = new Float64Array(k)
  for (let c = 0; c < k; c++) {
    let s = m.bias[c]!
    const w = m.weights[c]!
    for (let j = 0; j < x.length; j++) s += w[j]! * x[j]!
    z[c] = s
  }
  return softmaxInPlace(z)
}

/**
 * Fit by full-batch gradient descent with Adam (Kingma and Ba, "Adam: A
 * Method for Stochastic Optimization", ICLR 2015) on the mean cross-entropy
 * plus an L2 penalty `l2` on the weights. The features here are tens to
 * hundreds and the sets thousands, which converges in hundreds of steps
 * without a solver dependency.
 */
export function fitSoftmax (xs: ReadonlyArray<ArrayLike<number>>, ys: readonly number[], k: number, options: { l2?: number, steps?: number, learningRate?: number } = {}): SoftmaxModel {
  const l2 = options.l2 ?? 1e-3
  const steps = options.steps ?? 400
  const lr = options.learningRate ?? 0.05
  const d = xs[0]?.length ?? 0
  const w = Array.from({ length: k }, () => new Float64Array(d))
  const b = new Float64Array(k)
  const mw = Array.from({ length: k }, () => new Float64Array(d)); const vw = Array.from({ length: k }, () => new Float64Array(d))
  const mb = new Float64Array(k); const vb = new Float64Array(k)
  const b1 = 0.9; const b2 = 0.999; const eps = 1e-8
  const z = new Float64Array(k)
  const gw = Array.from({ length: k }, () => new Float64Array(d))
  const gb = new Float64Array(k)
  for (let step = 1; step <= steps; step++) {
    for (const g of gw) g.fill(0)
    gb.fill(0)
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!
      for (let c = 0; c < k; c++) {
        let s = b[c]!
        const wc = w[c]!
        for (let j = 0; j < d; j++) s += wc[j]! * x[j]!
        z[c] = s
      }
      softmaxInPlace(z)
      const y = ys[i]!
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
  return { weights: w.map(r => Array.from(r)), bias: Array.from(b) }
}
