import type { DeployResultView, ExternalServiceView, PlacementExplanationView, ResolveView, ServiceStatusView } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError, NotFoundError } from '../../lib/interface/errors.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'
import { timeoutSignal } from '../../lib/signals.js'

/** What the service endpoints need (the Registry service provides it). */
export interface RegistryTarget {
  list(): ServiceStatusView[]
  lookup(name: string, options: { signal?: AbortSignal }): Promise<ServiceStatusView>
  resolve(name: string, options: { signal?: AbortSignal }): Promise<ResolveView>
  deploy(spec: unknown, options: { dryRun?: boolean, signal?: AbortSignal }): Promise<DeployResultView>
  scale(name: string, replicas: number, options: { signal?: AbortSignal }): Promise<DeployResultView>
  remove(name: string, options: { signal?: AbortSignal }): Promise<void>
  explain(name: string): PlacementExplanationView
  register(registration: unknown, options: { signal?: AbortSignal }): Promise<ExternalInstance>
  deregister(name: string, options: { signal?: AbortSignal }): Promise<void>
  readonly externals: {
    list(): ExternalInstance[]
    pass(name: string, note?: string): ExternalInstance
  }
}

/** An external instance as the registry holds it (times in epoch ms). */
export type ExternalInstance = Omit<ExternalServiceView, 'since' | 'checkedAt'> & { since: number, checkedAt?: number }

function externalView (e: ExternalInstance): ExternalServiceView {
  const { since, checkedAt, ...rest } = e
  return { ...rest, since: new Date(since).toISOString(), ...(checkedAt != null ? { checkedAt: new Date(checkedAt).toISOString() } : {}) }
}

const REQUEST_TIMEOUT_MS = 30_000

export function registryRoutes (target: RegistryTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/services`]: async () => ({ body: target.list() }),
    [`GET ${p}/services/*`]: async (_req, _url, _res, name) => ({ body: await target.lookup(name, { signal: timeoutSignal(REQUEST_TIMEOUT_MS) }) }),
    [`GET ${p}/resolve/*`]: async (_req, _url, _res, name) => ({ body: await target.resolve(name, { signal: timeoutSignal(REQUEST_TIMEOUT_MS) }) }),
    [`GET ${p}/external`]: async () => ({ body: target.externals.list().map(externalView) }),
    [`POST ${p}/external`]: async (req) => ({ status: 201, body: externalView(await target.register(await readJson(req), { signal: timeoutSignal(REQUEST_TIMEOUT_MS) })) }),
    [`DELETE ${p}/external/*`]: async (_req, _url, _res, name) => {
      await target.deregister(name, { signal: timeoutSignal(REQUEST_TIMEOUT_MS) })
      return { body: { name, deregistered: true } }
    },
    // POST /external/NAME/pass: a ttl check's heartbeat
    [`POST ${p}/external/*`]: async (req, _url, _res, rest) => {
      const [name, action] = rest.split('/')
      if (name == null || action !== 'pass') throw new NotFoundError(`no such endpoint: POST ${p}/external/${rest}`)
      const body = await readJson(req)
      const note = typeof body.note === 'string' ? body.note.slice(0, 256) : undefined
      return { body: externalView(target.externals.pass(name, note)) }
    },
    [`POST ${p}/services`]: async (req, url) => {
      const dryRun = ['1', 'true'].includes(url.searchParams.get('dryRun') ?? '')
      const body = await target.deploy(await readJson(req), { dryRun, signal: timeoutSignal(REQUEST_TIMEOUT_MS) })
      return { status: dryRun ? 200 : 201, body }
    },
    // POST /services/NAME/scale (the router matches a trailing wildcard only)
    [`POST ${p}/services/*`]: async (req, _url, _res, rest) => {
      const [name, action] = rest.split('/')
      if (name == null || action !== 'scale') throw new NotFoundError(`no such endpoint: POST ${p}/services/${rest}`)
      const { replicas } = await readJson(req)
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new InvalidRequestError('body must be { "replicas": <integer >= 0> }')
      return { body: await target.scale(name, replicas, { signal: timeoutSignal(REQUEST_TIMEOUT_MS) }) }
    },
    [`DELETE ${p}/services/*`]: async (_req, _url, _res, name) => {
      await target.remove(name, { signal: timeoutSignal(REQUEST_TIMEOUT_MS) })
      return { body: { name, deleted: true } }
    },
    [`GET ${p}/placement/*`]: async (_req, _url, _res, name) => ({ body: target.explain(name) })
  }
}
