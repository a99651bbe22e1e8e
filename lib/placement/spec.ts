import { z } from 'zod'
import { firstIssue } from '../validation.js'
import { MAX_REPLICAS, SERVICE_NAME } from './constants.js'
import { InvalidServiceSpecError } from './errors.js'
import { LABEL_KEY, MAX_LABELS, MAX_LABEL_VALUE } from '../constants.js'

const labelKey = z.string().regex(LABEL_KEY, { error: 'label keys are letters, digits and . _ / - (max 63, starting with a letter or digit)' })

/** `name@range`, e.g. `echo@^1.2.0`; the modules issue resolves it. */
const moduleRef = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}@\S{1,64}$/, { error: 'must be name@range, e.g. "echo@^1.0.0"' })

/**
 * A service as declared by an operator. `{ "name": "web", "replicas": 2 }` is
 * a complete spec; everything else has a default. Unknown keys are refused so
 * a typo is an error, not a silently ignored requirement.
 */
export const serviceSpecSchema = z.strictObject({
  name: z.string().regex(SERVICE_NAME, { error: 'lower-case letters, digits and -, 1-63 characters, not starting or ending with -' }),
  replicas: z.number().int().min(0).max(MAX_REPLICAS).default(1),
  requirements: z.strictObject({
    /** cores (fractions allowed) reserved per replica */
    cpu: z.number().min(0).max(4096).default(0),
    /** MiB reserved per replica */
    memoryMb: z.number().int().min(0).max(16 * 1024 * 1024).default(0),
    /** worker slots per replica */
    slots: z.number().int().min(0).max(100_000).default(0),
    /** members must carry every one of these labels with exactly this value */
    labels: z.record(labelKey, z.string().max(MAX_LABEL_VALUE)).refine(l => Object.keys(l).length <= MAX_LABELS, { error: `at most ${MAX_LABELS} label selectors` }).default({})
  }).default({ cpu: 0, memoryMb: 0, slots: 0, labels: {} }),
  /** spread replicas across the values of this label (e.g. "zone") where the members allow */
  spread: labelKey.optional(),
  /** what runs: a module reference (started by owners once the runtime exists) */
  module: moduleRef.optional(),
  /**
   * The most this deploy lets its module have (each key optional; absent =
   * no narrowing): the grant is the manifest's request ∩ each owner's
   * policy ∩ this. A deploy asking for more than the deploying node's policy
   * allows is refused.
   */
  capabilities: z.strictObject({
    log: z.boolean().optional(),
    kv: z.boolean().optional(),
    call: z.array(z.string().min(1).max(128)).max(64).optional(),
    http: z.array(z.string().min(1).max(253)).max(64).optional(),
    paths: z.array(z.string().min(1).max(1024)).max(64).optional()
  }).optional()
})

export type ServiceSpec = z.output<typeof serviceSpecSchema>
export type ServiceSpecInput = z.input<typeof serviceSpecSchema>

/** Validate a parsed spec; the error names the field at fault. */
export function parseServiceSpec (value: unknown): ServiceSpec {
  const result = serviceSpecSchema.safeParse(value)
  if (result.success) return result.data
  const { key, message } = firstIssue(result.error)
  throw new InvalidServiceSpecError(`invalid service spec: ${message}`, key)
}
