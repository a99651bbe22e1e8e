import type { RuntimeServiceView } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import type { Routes } from './server.js'

/** What the runtime endpoint needs (the Runtime service provides it). */
export interface RuntimeTarget {
  status(): RuntimeServiceView[]
}

export function runtimeRoutes (target: RuntimeTarget): Routes {
  return {
    [`GET ${API_PREFIX}/runtime`]: async () => ({ body: target.status() })
  }
}
