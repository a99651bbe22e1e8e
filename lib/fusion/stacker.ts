import { PROB_FLOOR } from './rules.js'
import { fitSoftmax, predictSoftmax } from './softmax-regression.js'

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
  return predictSoftmax(model, features(model.sources, k, answers))
}

export function fitStacker (sources: readonly string[], k: number, samples: readonly StackSample[], options: { l2?: number, steps?: number } = {}): Stacker {
  const m = fitSoftmax(samples.map(s => features(sources, k, s.sources)), samples.map(s => s.label), k, options)
  return { sources: [...sources], ...m }
}
