/**
 * Fusion rules: how the probability vectors of several sources (modality
 * processors, and the context prior) over one label space become one.
 *
 * Every rule takes the sources present and their weights; a missing source
 * (its processor timed out, failed, or its modality was not in the input) is
 * simply absent, which each rule reads in its own way (the sum renormalises
 * over what came, Dempster-Shafer treats it as total ignorance). The answer
 * is always a probability vector over the labels: a rule that yields ranks
 * or masses is normalised (Borda points) or turned into the pignistic
 * probability (Dempster-Shafer), so `confidence` means one thing.
 */

export const RULES = ['sum', 'product', 'max', 'majority', 'borda', 'ds', 'stacker'] as const
export type RuleName = typeof RULES[number]

/** One source's answer on one input, after calibration. */
export interface Evidence {
  /** a probability vector over the task's labels (sums to 1) */
  probs: ArrayLike<number>
  /** the source's weight (sum, product, max, votes) or reliability in [0, 1] (ds) */
  weight: number
}

/** Probabilities are floored here before logs and products: one processor's 0 must not veto a label outright. */
export const PROB_FLOOR = 1e-6

function normalise (v: Float64Array): Float64Array {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i]!
  if (!(s > 0) || !Number.isFinite(s)) return v.fill(1 / v.length)
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / s
  return v
}

function uniform (k: number): Float64Array {
  return new Float64Array(k).fill(1 / k)
}

/**
 * Weighted sum of calibrated probabilities (Kittler, Hatef, Duin and Matas,
 * "On combining classifiers", IEEE TPAMI 20(3), 1998, the sum rule; with
 * weights, the linear opinion pool). Missing sources leave the weights of
 * the others to be renormalised.
 */
export function sumRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const out = new Float64Array(k)
  for (const e of evidence) {
    if (!(e.weight > 0)) continue
    for (let c = 0; c < k; c++) out[c] = out[c]! + e.weight * e.probs[c]!
  }
  return normalise(out)
}

/**
 * Product rule (Kittler et al. 1998): the posterior of independent sources,
 * with each source raised to its weight (the logarithmic opinion pool).
 * Computed in logs, with probabilities floored at PROB_FLOOR.
 */
export function productRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const log = new Float64Array(k)
  for (const e of evidence) {
    if (!(e.weight > 0)) continue
    for (let c = 0; c < k; c++) log[c] = log[c]! + e.weight * Math.log(Math.max(PROB_FLOOR, e.probs[c]!))
  }
  return softmaxInPlace(log)
}

/** Max rule (Kittler et al. 1998): each label's score is the largest weighted probability any source gives it. */
export function maxRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const out = new Float64Array(k)
  for (const e of evidence) {
    if (!(e.weight > 0)) continue
    for (let c = 0; c < k; c++) out[c] = Math.max(out[c]!, e.weight * e.probs[c]!)
  }
  return normalise(out)
}

function argmax (v: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i
  return best
}

/**
 * Weighted majority vote: each source votes its weight for its top label
 * (for processors whose scores are not probabilities). The vote shares are
 * the scores; a tie goes to the label with the larger summed probability.
 */
export function majorityRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const votes = new Float64Array(k)
  const tiebreak = new Float64Array(k)
  for (const e of evidence) {
    if (!(e.weight > 0)) continue
    const top = argmax(e.probs)
    votes[top] = votes[top]! + e.weight
    for (let c = 0; c < k; c++) tiebreak[c] = tiebreak[c]! + e.probs[c]!
  }
  // a vanishing share of the probabilities breaks ties without changing any winner
  let total = 0
  for (let c = 0; c < k; c++) total += votes[c]!
  if (total === 0) return uniform(k)
  for (let c = 0; c < k; c++) votes[c] = votes[c]! + 1e-9 * tiebreak[c]!
  return normalise(votes)
}

/**
 * Borda count (Ho, Hull and Srihari, "Decision combination in multiple
 * classifier systems", IEEE TPAMI 16(1), 1994): each source ranks the
 * labels; the label it ranks r-th (from 0) gets (k - 1 - r) times its
 * weight. Only the order of a source's scores counts. Tied scores share
 * their ranks' points.
 */
export function bordaRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const points = new Float64Array(k)
  const order = Array.from({ length: k }, (_, i) => i)
  for (const e of evidence) {
    if (!(e.weight > 0)) continue
    order.sort((a, b) => e.probs[b]! - e.probs[a]!)
    for (let r = 0; r < k;) {
      let end = r + 1
      while (end < k && e.probs[order[end]!] === e.probs[order[r]!]) end++
      // ranks r .. end-1 tie: each gets the mean of their points
      const share = ((k - 1 - r) + (k - end)) / 2
      for (let j = r; j < end; j++) points[order[j]!] = points[order[j]!]! + e.weight * share
      r = end
    }
  }
  return normalise(points)
}

/**
 * Dempster-Shafer combination with reliability discounting (Shafer, "A
 * Mathematical Theory of Evidence", 1976, ch. 11; Xu, Krzyzak and Suen,
 * IEEE SMC 22(3), 1992, for classifiers). Each source's probabilities,
 * discounted by its reliability a in [0, 1], are a mass function with
 * m({c}) = a p(c) and m(all labels) = 1 - a. A missing source is the vacuous
 * mass function (all on ignorance) and changes nothing. For such
 * "singletons plus ignorance" masses Dempster's rule has a closed form:
 * m({c}) ~ prod(m_i({c}) + m_i(all)) - prod(m_i(all)), m(all) ~ prod(m_i(all)),
 * normalised by 1 - conflict. The answer is the pignistic probability
 * (Smets), BetP(c) = m({c}) + m(all) / k.
 */
export function dempsterShaferRule (k: number, evidence: readonly Evidence[]): Float64Array {
  const withIgnorance = new Float64Array(k).fill(1)
  let ignorance = 1
  for (const e of evidence) {
    const a = Math.min(1, Math.max(0, e.weight))
    if (a === 0) continue
    const theta = 1 - a
    for (let c = 0; c < k; c++) withIgnorance[c] = withIgnorance[c]! * (a * e.probs[c]! + theta)
    ignorance *= theta
  }
  const out = new Float64Array(k)
  let total = ignorance
  for (let c = 0; c < k; c++) {
    out[c] = withIgnorance[c]! - ignorance
    total += out[c]!
  }
  // total conflict (every source certain, of different labels): no information survives
  if (!(total > 0)) return uniform(k)
  for (let c = 0; c < k; c++) out[c] = (out[c]! + ignorance / k) / total
  return out
}

/** exp(v - max) normalised, in place. */
export function softmaxInPlace (v: Float64Array): Float64Array {
  let max = -Infinity
  for (let i = 0; i < v.length; i++) if (v[i]! > max) max = v[i]!
  if (!Number.isFinite(max)) return v.fill(1 / v.length)
  let s = 0
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.exp(v[i]! - max)
    s += v[i]!
  }
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / s
  return v
}

export type FixedRule = Exclude<RuleName, 'stacker'>

const FIXED: Record<FixedRule, (k: number, evidence: readonly Evidence[]) => Float64Array> = {
  sum: sumRule,
  product: productRule,
  max: maxRule,
  majority: majorityRule,
  borda: bordaRule,
  ds: dempsterShaferRule
}

/** Combine with one of the fixed rules; no evidence at all gives the uniform vector. */
export function combine (rule: FixedRule, k: number, evidence: readonly Evidence[]): Float64Array {
  if (evidence.length === 0) return uniform(k)
  return FIXED[rule](k, evidence)
}

export { argmax }
