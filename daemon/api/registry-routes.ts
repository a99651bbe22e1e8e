import type { DeployResultView, PlacementExplanationView, ServiceStatusView } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError, NotFoundError } from '../../lib/interface/errors.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'

/** What the service endpoints need (the Registry service provides it). */
export interface RegistryTarget {
  list(): ServiceStatusView[]
  status(name: string): ServiceStatusView
  deploy(spec: unknown, options: { dryRun?: boolean, signal?: AbortSignal }): Promise<DeployResultView>
  scale(name: string, replicas: number, options: { signal?: AbortSignal }): Promise<DeployResultView>
  remove(name: string, options: { signal?: AbortSignal }): Promise<void>
  explain(name: string): PlacementExplanationView
}

const REQUEST_TIMEOUT_MS = 30_000

export function registryRoutes (target: RegistryTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/services`]: async () => ({ body: target.list() }),
    [`GET ${p}/services/*`]: async (_req, _url, _res, name) => ({ body: target.status(name) }),
    [`POST ${p}/services`]: async (req, url) => {
      const dryRun = ['1', 'true'].includes(url.searchParams.get('dryRun') ?? '')
      const body = await target.deploy(await readJson(req), { dryRun, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      return { status: dryRun ? 200 : 201, body }
    },
    // POST /services/NAME/scale (the router matches a trailing wildcard only)
    [`POST ${p}/services/*`]: async (req, _url, _res, rest) => {
      const [name, action] = rest.split('/')
      if (name == null || action !== 'scale') throw new NotFoundError(`no such endpoint: POST ${p}/services/${rest}`)
      const { replicas } = await readJson(req)
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new InvalidRequestError('body must be { "replicas": <integer >= 0> }')
      return { body: await target.scale(name, replicas, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) }
    },
    [`DELETE ${p}/services/*`]: async (_req, _url, _res, name) => {
      await target.remove(name, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      return { body: { name, deleted: true } }
    },
    [`GET ${p}/placement/*`]: async (_req, _url, _res, name) => ({ body: target.explain(name) })
  }
}
