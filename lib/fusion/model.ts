import { InvalidRequestError } from '../interface/errors.js'
import { calibrate, type Calibration } from './calibration.js'
import { combine, RULES, type Evidence, type FixedRule, type RuleName } from './rules.js'
import { stack, type Stacker } from './stacker.js'

/** What a task's calibration measured of one rule on the validation set (held-out halves: see fit.ts). */
export interface RuleScore {
  accuracy: number
  nll: number
}

/**
 * How a task fuses: the calibration of each source, each rule's fitted
 * weights, the stacker, and which rule `auto` means. A task that was never
 * calibrated has none of it: every source is used as given, with weight 1,
 * under the sum rule.
 */
export interface FusionModel {
  /** the rule for `auto`: the best on validation, else sum */
  rule: RuleName
  calibration: Record<string, Calibration>
  weights: Partial<Record<FixedRule, Record<string, number>>>
  stacker?: Stacker
  validation?: { samples: number, at: string, rules: Partial<Record<RuleName, RuleScore>> }
}

export const UNCALIBRATED: FusionModel = { rule: 'sum', calibration: {}, weights: {} }

/** A source's default weight under a rule (a reliability under ds, where 1 would make a source certain). */
export function defaultWeight (rule: FixedRule): number {
  return rule === 'ds' ? 0.9 : 1
}

/** The rule a call asked for, checked; `auto` is the model's choice. */
export function ruleFor (model: FusionModel, asked: string | undefined): RuleName {
  if (asked == null || asked === 'auto') return model.rule
  if (!(RULES as readonly string[]).includes(asked)) throw new InvalidRequestError(`unknown fusion rule "${asked}" (known: auto, ${RULES.join(', ')})`)
  if (asked === 'stacker' && model.stacker == null) throw new InvalidRequestError('the stacker is learned: calibrate the task first (noodled fuse calibrate)')
  return asked as RuleName
}

/** Each source's answer calibrated (missing ones stay missing). */
export function calibrated (model: FusionModel, answers: ReadonlyMap<string, ArrayLike<number> | undefined>): Map<string, Float64Array | undefined> {
  const out = new Map<string, Float64Array | undefined>()
  for (const [source, probs] of answers) out.set(source, probs == null ? undefined : calibrate(model.calibration[source] ?? { kind: 'none' }, probs))
  return out
}

/**
 * Fuse calibrated answers under `rule`. `weights` overrides the model's
 * (a source's weight 0 leaves it out: the context ablation).
 */
export function fuseCalibrated (model: FusionModel, rule: RuleName, k: number, answers: ReadonlyMap<string, ArrayLike<number> | undefined>, weights?: Readonly<Record<string, number>>): Float64Array {
  if (rule === 'stacker') {
    if (model.stacker == null) throw new InvalidRequestError('the stacker is learned: calibrate the task first (noodled fuse calibrate)')
    if (weights != null) {
      const kept = new Map([...answers].filter(([s]) => weights[s] !== 0))
      return stack(model.stacker, k, kept)
    }
    return stack(model.stacker, k, answers)
  }
  const fitted = model.weights[rule] ?? {}
  const evidence: Evidence[] = []
  for (const [source, probs] of answers) {
    if (probs == null) continue
    evidence.push({ probs, weight: weights?.[source] ?? fitted[source] ?? defaultWeight(rule) })
  }
  return combine(rule, k, evidence)
}
