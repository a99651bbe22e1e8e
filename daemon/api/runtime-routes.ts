import type { RuntimeOwnerView, RuntimeServiceView } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import type { Routes } from './server.js'
import { timeoutSignal } from '../../lib/signals.js'

/** Asking every owner of a service: each is asked with its own 5 s limit, at once. */
const HISTORY_TIMEOUT_MS = 10_000

/** What the runtime endpoints need (the Runtime service provides it). */
export interface RuntimeTarget {
  status(): RuntimeServiceView[]
  history(service: string, options: { signal?: AbortSignal }): Promise<RuntimeOwnerView[]>
}

export function runtimeRoutes (target: RuntimeTarget): Routes {
  return {
    [`GET ${API_PREFIX}/runtime`]: async () => ({ body: target.status() }),
    // every owner's view of one service (its versions and outcomes), asked over the mesh
    [`GET ${API_PREFIX}/runtime/*`]: async (_req, _url, _res, service) => ({ body: await target.history(service, { signal: timeoutSignal(HISTORY_TIMEOUT_MS) }) })
  }
}
