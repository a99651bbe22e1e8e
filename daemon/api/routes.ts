import type { ConnectResponse, HealthResponse, IdResponse, PeerEntry, ShutdownResponse, StatusResponse } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'
import { timeoutSignal } from '../../lib/signals.js'

/** What the control API needs from the daemon. */
export interface ControlTarget {
  id(): IdResponse
  status(): StatusResponse
  health(): HealthResponse
  peers(options: { signal: AbortSignal }): Promise<PeerEntry[]>
  connect(addr: string, options: { signal: AbortSignal }): Promise<ConnectResponse>
  metrics(): Promise<string>
  requestShutdown(): void
}

/** Upper bound for a request the daemon works on (dials, pings). */
const REQUEST_TIMEOUT_MS = 30_000

export function controlRoutes (target: ControlTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/id`]: async () => ({ body: target.id() }),
    [`GET ${p}/status`]: async () => ({ body: target.status() }),
    [`GET ${p}/health`]: async () => ({ body: target.health() }),
    [`GET ${p}/peers`]: async () => ({ body: await target.peers({ signal: timeoutSignal(REQUEST_TIMEOUT_MS) }) }),
    [`POST ${p}/connect`]: async (req) => {
      const body = await readJson(req)
      if (typeof body.addr !== 'string' || body.addr === '') {
        throw new InvalidRequestError('body must be { "addr": "<multiaddr>" }')
      }
      const timeoutMs = typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? Math.min(body.timeoutMs, REQUEST_TIMEOUT_MS) : REQUEST_TIMEOUT_MS
      return { body: await target.connect(body.addr, { signal: timeoutSignal(timeoutMs) }) }
    },
    [`POST ${p}/shutdown`]: async () => {
      // answer first, then stop: the caller learns the request was taken
      setImmediate(() => { target.requestShutdown() })
      const body: ShutdownResponse = { stopping: true }
      return { status: 202, body }
    },
    'GET /metrics': async () => ({ body: await target.metrics(), contentType: 'text/plain; version=0.0.4; charset=utf-8' })
  }
}
