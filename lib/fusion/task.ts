import { z } from 'zod'
import { InvalidRequestError } from '../interface/errors.js'
import { RULES } from './rules.js'
import type { FusionModel } from './model.js'

/** Task and processor names: they become graph names (`fusion-<task>`) and IRIs. */
export const NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/
/** A modality's name: image, audio, text, ... */
const MODALITY = /^[a-z][a-z0-9_-]{0,31}$/
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/

/** The default deadline of one fusion, the engine's design target. */
export const DEFAULT_DEADLINE_MS = 200
/**
 * Shortest deadline a task or call may set: below it the engine's own
 * machinery (a timer is 1 ms at best, the calls' set-up, fusing) is the
 * deadline, and bench:fusion saw most answers at 2 and 5 ms come late.
 */
export const MIN_DEADLINE_MS = 10
/** Longest deadline a task or call may set. */
export const MAX_DEADLINE_MS = 60_000
/** Largest input of one modality, unless the task says less. */
export const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024

const calibrationSchema = z.union([
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('temperature'), t: z.number().positive() }),
  z.object({ kind: z.literal('platt'), a: z.number(), b: z.number() })
])

const modelSchema = z.object({
  rule: z.enum(RULES),
  calibration: z.record(z.string(), calibrationSchema),
  weights: z.record(z.string(), z.record(z.string(), z.number().min(0))),
  stacker: z.object({ sources: z.array(z.string()), weights: z.array(z.array(z.number())), bias: z.array(z.number()) }).optional(),
  validation: z.object({
    samples: z.number().int(),
    at: z.string(),
    rules: z.record(z.string(), z.object({ accuracy: z.number(), nll: z.number() }))
  }).optional()
})

/**
 * Context from the knowledge graph: a SPARQL SELECT answering `?label` and
 * `?weight` rows, turned into a prior over the task's labels. `$context`
 * and `$previous` in the text are replaced by string literals: the call's
 * context id, and the labels fused earlier under that id, joined by
 * `separator`.
 */
const contextSchema = z.object({
  query: z.string().min(1).max(16 * 1024),
  /** @default '' */
  separator: z.string().max(8).optional(),
  /** @default 'local' */
  scope: z.enum(['local', 'mesh']).optional()
})

export const taskSchema = z.object({
  name: z.string().regex(NAME, 'a task name is 1-48 lowercase letters, digits, "-" or "_"'),
  description: z.string().max(1024).optional(),
  labels: z.array(z.string().min(1).max(128)).min(2).max(1024).refine(ls => new Set(ls).size === ls.length, 'labels must be distinct'),
  modalities: z.array(z.string().regex(MODALITY)).min(1).max(16),
  deadlineMs: z.number().int().min(MIN_DEADLINE_MS).max(MAX_DEADLINE_MS).optional(),
  rule: z.enum(['auto', ...RULES]).optional(),
  maxInputBytes: z.number().int().min(1).max(64 * 1024 * 1024).optional(),
  context: contextSchema.optional(),
  model: modelSchema.optional()
}).strict()

export type FusionTask = Omit<z.infer<typeof taskSchema>, 'model'> & { model?: FusionModel }

export const processorSchema = z.object({
  /** the source's name within its task */
  name: z.string().regex(NAME, 'a processor name is 1-48 lowercase letters, digits, "-" or "_"'),
  task: z.string().regex(NAME),
  /** the mesh service that does the work, and its function (@default 'classify') */
  service: z.string().min(1).max(256),
  fn: z.string().min(1).max(256).optional(),
  modality: z.string().regex(MODALITY),
  mediaTypes: z.array(z.string().regex(MEDIA_TYPE)).min(1).max(16),
  /** its scores are probabilities (else only their order is trusted until calibration) */
  calibrated: z.boolean(),
  /** measured on the task's validation set, by whoever registered it */
  accuracy: z.number().min(0).max(1).optional(),
  latencyP50Ms: z.number().min(0).optional(),
  latencyP95Ms: z.number().min(0).optional(),
  description: z.string().max(1024).optional()
}).strict()

export type ProcessorDescriptor = z.infer<typeof processorSchema>

function check<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success) throw new InvalidRequestError(`${what}: ${r.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return r.data
}

export function parseTask (value: unknown): FusionTask {
  const task = check(taskSchema, value, 'invalid fusion task') as FusionTask
  if (task.context != null && !/\?label\b/.test(task.context.query)) throw new InvalidRequestError('invalid fusion task: context.query must SELECT ?label (and may SELECT ?weight)')
  return task
}

export function parseProcessor (value: unknown): ProcessorDescriptor {
  return check(processorSchema, value, 'invalid processor descriptor')
}
