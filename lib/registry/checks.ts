import { connect } from 'node:net'
import { z } from 'zod'
import { parseSocketEndpoint } from '../rpc/socket-endpoint.js'
import { timeoutSignal } from '../signals.js'

/**
 * Health checks for external services, after Consul's: `http` (GET, 2xx
 * passes), `tcp` (a connection is accepted: at the endpoint's host and port,
 * or on an `rpc+unix` endpoint's socket), `ttl` (the service reports in
 * with `noodled service pass <name>` at least every ttl). Without a check an
 * instance is healthy while it is registered.
 */
export const checkSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('http'),
    /** path appended to the endpoint; default "/" */
    path: z.string().startsWith('/').max(512).default('/'),
    intervalMs: z.number().int().min(100).max(3_600_000).default(5_000),
    timeoutMs: z.number().int().min(50).max(60_000).default(2_000)
  }),
  z.strictObject({
    type: z.literal('tcp'),
    intervalMs: z.number().int().min(100).max(3_600_000).default(5_000),
    timeoutMs: z.number().int().min(50).max(60_000).default(2_000)
  }),
  z.strictObject({
    type: z.literal('ttl'),
    ttlMs: z.number().int().min(100).max(7 * 24 * 3_600_000).default(30_000)
  })
])

export type Check = z.output<typeof checkSchema>
export type CheckType = Check['type']
export const CHECK_TYPES: CheckType[] = ['http', 'tcp', 'ttl']

export type CheckStatus = 'passing' | 'critical'

export interface CheckResult {
  status: CheckStatus
  /** why it failed, or what passed (status code) */
  output: string
}

/** Run one http or tcp check against `endpoint`. Never throws. */
export async function runCheck (check: Exclude<Check, { type: 'ttl' }>, endpoint: string, options: { signal?: AbortSignal } = {}): Promise<CheckResult> {
  const signal = AbortSignal.any([timeoutSignal(check.timeoutMs), ...(options.signal != null ? [options.signal] : [])])
  const url = new URL(endpoint)
  if (check.type === 'http') {
    const target = new URL(check.path, url.href.endsWith('/') ? url.href : `${url.href}/`)
    if (check.path === '/') target.pathname = url.pathname
    try {
      const res = await fetch(target, { signal, redirect: 'manual' })
      await res.body?.cancel()
      return res.status >= 200 && res.status < 300
        ? { status: 'passing', output: `HTTP ${res.status}` }
        : { status: 'critical', output: `HTTP ${res.status} from ${target.href}` }
    } catch (err: any) {
      return { status: 'critical', output: `GET ${target.href}: ${describe(err)}` }
    }
  }
  // a socket endpoint (rpc+unix, rpc+tcp) is checked where it listens; an http(s) one at its host and port
  const socketAt = parseSocketEndpoint(endpoint)
  const port = Number(url.port !== '' ? url.port : url.protocol === 'https:' ? 443 : 80)
  const target = socketAt != null && 'path' in socketAt ? { path: socketAt.path } : { host: url.hostname.replace(/^\[|\]$/g, ''), port }
  const where = 'path' in target ? `Unix socket ${target.path}` : `TCP ${target.host}:${target.port}`
  return await new Promise<CheckResult>(resolve => {
    const socket = connect({ ...target, signal })
    socket.once('connect', () => {
      socket.destroy()
      resolve({ status: 'passing', output: `connected to ${where}` })
    })
    socket.once('error', (err) => {
      socket.destroy()
      resolve({ status: 'critical', output: `connect to ${where}: ${describe(err)}` })
    })
  })
}

function describe (err: any): string {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timed out'
  return err?.cause?.code ?? err?.code ?? err?.message ?? String(err)
}
