import { z } from 'zod'
import type { Auth } from '../../lib/auth/index.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { firstIssue } from '../../lib/validation.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'
import { timeoutSignal } from '../../lib/signals.js'

const delegateSchema = z.strictObject({
  to: z.string().min(1).max(128),
  can: z.string().min(1).max(64),
  with: z.string().min(1).max(160),
  ttlMs: z.number().int().positive().max(100 * 365 * 24 * 3600_000).optional()
})
const addSchema = z.strictObject({ token: z.string().min(1).max(32 * 1024) })
const revokeSchema = z.strictObject({ id: z.string().min(1).max(128) })

function parse<T> (schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (!result.success) throw new InvalidRequestError(firstIssue(result.error).message)
  return result.data
}

/** Capability tokens and the audit trail. */
export function authRoutes (target: Pick<Auth, 'authority' | 'audit' | 'delegate' | 'add' | 'revoke' | 'counters'>): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/auth`]: async () => ({ body: { ...target.authority.list(), enforcing: target.authority.enabled, counters: target.counters } }),
    [`POST ${p}/auth/delegate`]: async (req) => {
      const input = parse(delegateSchema, await readJson(req))
      return { status: 201, body: await target.delegate({ to: input.to, can: input.can, with: input.with, ...(input.ttlMs != null ? { ttlMs: input.ttlMs } : {}) }) }
    },
    [`POST ${p}/auth/tokens`]: async (req) => ({ status: 201, body: await target.add(parse(addSchema, await readJson(req)).token) }),
    [`POST ${p}/auth/revoke`]: async (req) => ({ status: 201, body: await target.revoke(parse(revokeSchema, await readJson(req)).id) }),
    [`GET ${p}/audit`]: async (_req, url) => {
      const limit = url.searchParams.get('limit')
      const n = limit == null ? undefined : Number(limit)
      if (n != null && (!Number.isInteger(n) || n < 1)) throw new InvalidRequestError('limit must be a positive integer')
      return { body: await target.audit.list({ ...(n != null ? { limit: n } : {}), signal: timeoutSignal(30_000) }) }
    },
    [`GET ${p}/audit/verify`]: async () => ({ body: await target.audit.verify({ signal: timeoutSignal(60_000) }) })
  }
}
