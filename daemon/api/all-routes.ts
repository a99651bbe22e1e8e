import { authRoutes } from './auth-routes.js'
import { fusionRoutes } from './fusion-routes.js'
import { knowledgeRoutes } from './knowledge-routes.js'
import { membershipRoutes } from './membership-routes.js'
import { moduleRoutes } from './module-routes.js'
import { registryRoutes } from './registry-routes.js'
import { controlRoutes } from './routes.js'
import { rpcRoutes } from './rpc-routes.js'
import { runtimeRoutes } from './runtime-routes.js'
import type { Routes } from './server.js'

/** What each group of the control API's routes serves. */
export interface ApiTargets {
  control: Parameters<typeof controlRoutes>[0]
  membership: Parameters<typeof membershipRoutes>[0]
  registry: Parameters<typeof registryRoutes>[0]
  rpc: Parameters<typeof rpcRoutes>[0]
  modules: Parameters<typeof moduleRoutes>[0]
  runtime: Parameters<typeof runtimeRoutes>[0]
  auth: Parameters<typeof authRoutes>[0]
  knowledge: Parameters<typeof knowledgeRoutes>[0]
  fusion: Parameters<typeof fusionRoutes>[0]
}

/**
 * Every route of the control API (`METHOD /path`, a trailing `*` for the
 * rest of the path): what the daemon serves, and what docs/openapi.yaml is
 * checked against (test/daemon/openapi.spec.ts).
 */
export function apiRoutes (t: ApiTargets): Routes {
  return {
    ...controlRoutes(t.control),
    ...membershipRoutes(t.membership),
    ...registryRoutes(t.registry),
    ...rpcRoutes(t.rpc),
    ...moduleRoutes(t.modules),
    ...runtimeRoutes(t.runtime),
    ...authRoutes(t.auth),
    ...knowledgeRoutes(t.knowledge),
    ...fusionRoutes(t.fusion)
  }
}
