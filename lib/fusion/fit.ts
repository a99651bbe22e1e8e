import { fitCalibration, type Labelled } from './calibration.js'
import { calibrated, defaultWeight, fuseCalibrated, type FusionModel, type RuleScore } from './model.js'
import { PROB_FLOOR, RULES, argmax, type FixedRule, type RuleName } from './rules.js'
import { fitStacker } from './stacker.js'
import { seededRandom } from '../random-sample.js'

/** One labelled validation item: what each source answered (undefined: it was missing), and the true label's index. */
export interface ValidationItem {
  label: number
  sources: ReadonlyMap<string, ArrayLike<number> | undefined>
}

const FIXED_RULES = RULES.filter((r): r is FixedRule => r !== 'stacker')

function score (model: FusionModel, rule: RuleName, k: number, items: readonly ValidationItem[]): RuleScore {
  let right = 0
  let loss = 0
  for (const it of items) {
    const p = fuseCalibrated(model, rule, k, it.sources)
    if (argmax(p) === it.label) right++
    loss -= Math.log(Math.max(PROB_FLOOR, p[it.label]!))
  }
  return { accuracy: right / Math.max(1, items.length), nll: loss / Math.max(1, items.length) }
}

/**
 * A rule's weights by coordinate search on the validation NLL: from the
 * default weights, each source's weight moves by `step` while that lowers
 * the NLL; the step halves when no move helps, down to 1/64. Reliabilities
 * (ds) stay in [0, 1], weights in [0, 4].
 */
function fitWeights (model: FusionModel, rule: FixedRule, sources: readonly string[], k: number, items: readonly ValidationItem[]): Record<string, number> {
  const w: Record<string, number> = Object.fromEntries(sources.map(s => [s, defaultWeight(rule)]))
  const upper = rule === 'ds' ? 1 : 4
  const loss = (): number => score({ ...model, weights: { ...model.weights, [rule]: w } }, rule, k, items).nll
  let best = loss()
  for (let step = 0.5; step >= 1 / 64; step /= 2) {
    let moved = true
    for (let pass = 0; moved && pass < 20; pass++) {
      moved = false
      for (const s of sources) {
        for (const dir of [1, -1]) {
          const was = w[s]!
          const next = Math.min(upper, Math.max(0, was + dir * step))
          if (next === was) continue
          w[s] = next
          const v = loss()
          if (v < best - 1e-9) {
            best = v
            moved = true
          } else {
            w[s] = was
          }
        }
      }
    }
  }
  return w
}

/** Calibration and every rule's weights and the stacker, fitted on `items` (already split off by the caller). */
function fitOn (sources: readonly string[], k: number, items: readonly ValidationItem[]): FusionModel {
  const calibration: FusionModel['calibration'] = {}
  for (const s of sources) {
    const answered: Labelled[] = []
    for (const it of items) {
      const p = it.sources.get(s)
      if (p != null) answered.push({ probs: p, label: it.label })
    }
    if (answered.length > 0) calibration[s] = fitCalibration(answered)
  }
  const model: FusionModel = { rule: 'sum', calibration, weights: {} }
  const cal = items.map(it => ({ label: it.label, sources: calibrated(model, it.sources) }))
  for (const rule of FIXED_RULES) model.weights[rule] = fitWeights(model, rule, sources, k, cal)
  model.stacker = fitStacker(sources, k, [...cal, ...withDropout(cal, sources)])
  return model
}

/**
 * Copies of the items with sources left out at random (each with
 * probability 1/3, one at least kept), for the stacker: a validation set
 * where every processor answered would teach it nothing of what a missing
 * one means, and at a tight deadline some are missing. (The fixed rules
 * need no such thing: they simply leave an absent source out.) Seeded, so
 * a calibration is the same every run.
 */
function withDropout (items: readonly ValidationItem[], sources: readonly string[]): ValidationItem[] {
  const rand = seededRandom(0x9e3779b9)
  return items.map(it => {
    const kept = sources.filter(s => it.sources.get(s) != null && rand() >= 1 / 3)
    if (kept.length === 0) {
      const present = sources.filter(s => it.sources.get(s) != null)
      if (present.length > 0) kept.push(present[Math.floor(rand() * present.length)]!)
    }
    return { label: it.label, sources: new Map(sources.map(s => [s, kept.includes(s) ? it.sources.get(s) : undefined])) }
  })
}

/** A seeded shuffle, so a calibration is the same every run. */
function shuffled<T> (xs: readonly T[], seed: number): T[] {
  const rand = seededRandom(seed)
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/**
 * Fit a task's fusion model on a labelled validation set: each source's
 * calibration (temperature, Platt or none, by validation NLL), each rule's
 * weights, and the stacker. Which rule `auto` picks is decided on held-out
 * data: two-fold cross-validation (fit on one half, score on the other,
 * both ways), so the stacker's and the weights' fit to the set they were
 * learned on does not decide it; the model kept is then fitted on all of it.
 */
export function fitModel (sources: readonly string[], k: number, items: readonly ValidationItem[], options: { seed?: number } = {}): FusionModel {
  const order = shuffled(items, options.seed ?? 1)
  const half = Math.floor(order.length / 2)
  const folds = [[order.slice(0, half), order.slice(half)], [order.slice(half), order.slice(0, half)]] as const
  const totals: Partial<Record<RuleName, { right: number, loss: number, n: number }>> = {}
  if (half >= 10) {
    for (const [train, test] of folds) {
      const m = fitOn(sources, k, train)
      const cal = test.map(it => ({ label: it.label, sources: calibrated(m, it.sources) }))
      for (const rule of RULES) {
        const s = score(m, rule, k, cal)
        const t = totals[rule] ?? { right: 0, loss: 0, n: 0 }
        t.right += s.accuracy * cal.length
        t.loss += s.nll * cal.length
        t.n += cal.length
        totals[rule] = t
      }
    }
  }
  const model = fitOn(sources, k, items)
  const rules: Partial<Record<RuleName, RuleScore>> = {}
  let chosen: RuleName = 'sum'
  for (const rule of RULES) {
    const t = totals[rule]
    if (t == null) continue
    rules[rule] = { accuracy: t.right / t.n, nll: t.loss / t.n }
    const best = rules[chosen]
    const s = rules[rule]!
    if (best == null || s.accuracy > best.accuracy + 1e-12 || (Math.abs(s.accuracy - best.accuracy) <= 1e-12 && s.nll < best.nll)) chosen = rule
  }
  return { ...model, rule: chosen, validation: { samples: items.length, at: new Date().toISOString(), rules } }
}
