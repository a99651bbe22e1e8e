import { z } from 'zod'
import { AnalyzerError } from '../interface/errors.js'
import { firstIssue } from '../validation.js'

/** The function an analyzer service is called on. */
export const ANALYZER_FN = 'extract'

const entityRef = z.strictObject({
  type: z.enum(['Person', 'Place', 'Organization', 'Date', 'Number', 'Topic']),
  name: z.string().trim().min(1).max(512)
})

/**
 * What an analyzer service answers (docs/knowledge.md, "Analyzers"): who it
 * is, the entities it found (type and name; the daemon gives each its IRI
 * by the same identity rule as the built-in analyzer's, so the same entity
 * found by two analyzers is one node), and relations between them, each
 * end given by type and name.
 */
export const analyzerAnswerSchema = z.strictObject({
  analyzer: z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), version: z.string().regex(/^[A-Za-z0-9.+_-]{1,64}$/) }),
  entities: z.array(entityRef).max(100_000),
  relations: z.array(z.strictObject({
    subject: entityRef,
    predicate: z.string().regex(/^[\p{L}\p{N} _-]{1,64}$/u),
    object: entityRef
  })).max(100_000).default([])
})

export type AnalyzerAnswer = z.output<typeof analyzerAnswerSchema>

/** What something that calls mesh services needs to be (the RPC service is). */
export interface ServiceCaller {
  call: (service: string, fn: string, payload: Uint8Array, options?: { timeoutMs?: number, signal?: AbortSignal }) => Promise<{ payload: Uint8Array }>
}

/**
 * Ask the mesh service `service` what it finds in `text`: `extract` is
 * called with `{ text, source? }` as UTF-8 JSON, and the answer is checked
 * against the contract. A service that fails, or answers something else,
 * is an AnalyzerError naming it; nothing is written then.
 */
export async function analyzeWith (rpc: ServiceCaller, service: string, text: string, options: { source?: string, timeoutMs?: number, signal?: AbortSignal } = {}): Promise<AnalyzerAnswer> {
  const payload = new TextEncoder().encode(JSON.stringify({ text, ...(options.source != null ? { source: options.source } : {}) }))
  let res: { payload: Uint8Array }
  try {
    res = await rpc.call(service, ANALYZER_FN, payload, { timeoutMs: options.timeoutMs ?? 30_000, ...(options.signal != null ? { signal: options.signal } : {}) })
  } catch (err: any) {
    throw new AnalyzerError(`analyzer "${service}" failed: ${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`)
  }
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(res.payload))
  } catch (err: any) {
    throw new AnalyzerError(`analyzer "${service}" did not answer JSON: ${err.message}`)
  }
  const parsed = analyzerAnswerSchema.safeParse(body)
  if (!parsed.success) throw new AnalyzerError(`analyzer "${service}" answered outside the contract: ${firstIssue(parsed.error).message}`)
  return parsed.data
}
