import { serviceCapabilities, type ComponentLogger, type Logger, type Metrics, type Startable } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import type { RuntimeServiceView } from '../interface/api.js'
import { NoInstanceError, ServiceNotReadyError } from '../interface/errors.js'
import type { Membership } from '../membership/index.js'
import type { Modules } from '../modules/index.js'
import type { ServiceSpec } from '../placement/spec.js'
import type { Registry } from '../registry/registry.js'
import type { Instance } from '../registry/reconciler.js'
import { DEFAULT_POLICY, grantFor, type Grant, type NodePolicy } from './grants.js'
import type { MeshCall } from './host.js'
import { KvNamespace } from './kv.js'
import { RuntimeMetrics } from './metrics.js'
import { ModulePool } from './pool.js'

export { DEFAULT_POLICY, grantFor, type Grant, type NodePolicy } from './grants.js'
export { ModulePool } from './pool.js'

/** A manifest that asks for nothing: checks a deploy's capabilities against the policy alone. */
const NOTHING_ASKED = { capabilities: { log: false, kv: false, call: [], http: [], paths: [] }, resources: { memoryPages: 1, timeoutMs: 1 } }

/** Instances (worker threads) per module service on one node. */
export const DEFAULT_INSTANCES = 2
/** The longest a new version's `health` may take before it is judged failed. */
const HEALTH_TIMEOUT_MS = 5_000
/** Versions remembered per service. */
const HISTORY = 20
/** A load that failed with nothing running is tried again after this, doubling up to RETRY_MAX_MS. */
const RETRY_MS = 2_000
const RETRY_MAX_MS = 60_000

export interface RuntimeInit {
  policy?: NodePolicy
  /** instances (worker slots) a module service gets here when its spec asks for none */
  instancesPerService?: number
}

export interface RuntimeComponents {
  registry: Registry
  modules: Modules
  datastore: Datastore
  logger: ComponentLogger
  /** advertises the worker slots taken; absent in unit tests */
  membership?: Membership
  metrics?: Metrics
  /** mesh calls for modules granted `call` */
  rpc?: { call: (service: string, fn: string, payload: Uint8Array, options: { timeoutMs: number, signal: AbortSignal }) => Promise<{ payload: Uint8Array }> }
}

interface Loaded {
  /** the spec's module, capabilities and slots this entry was loaded for */
  key: string
  view: RuntimeServiceView
  pool?: ModulePool
  controller: AbortController
  /** loads that failed in a row (nothing was running), and the timer of the next try */
  failures: number
  retry?: ReturnType<typeof setTimeout>
}

/**
 * Runs the module services this node owns: when placement makes it an owner
 * of a service with `"module": "name@range"`, the module and its
 * dependencies are fetched (verified, pinned), the root module gets a grant
 * (manifest ∩ this node's policy) and a pool of sandboxed instances, and RPC
 * calls to the service go to the pool. When the node stops owning it, the
 * pool is closed.
 */
export class Runtime implements Startable {
  private readonly components: RuntimeComponents
  private readonly policy: NodePolicy
  private readonly instances: number
  private readonly log: Logger
  private readonly loaded = new Map<string, Loaded>()
  private readonly metrics: RuntimeMetrics

  private readonly onStart = (evt: CustomEvent<Instance>): void => { void this.load(evt.detail) }
  private readonly onUpdate = (evt: CustomEvent<Instance>): void => { void this.load(evt.detail) }
  private readonly onStop = (evt: CustomEvent<Instance>): void => { void this.unload(evt.detail.service) }

  private readonly meshCall: MeshCall = async (service, fn, payload, options) => {
    const rpc = this.components.rpc
    if (rpc == null) throw new NoInstanceError('this node has no mesh RPC')
    return (await rpc.call(service, fn, payload, options)).payload
  }

  constructor (components: RuntimeComponents, init: RuntimeInit = {}) {
    this.components = components
    this.policy = init.policy ?? DEFAULT_POLICY
    this.instances = init.instancesPerService ?? DEFAULT_INSTANCES
    this.log = components.logger.forComponent('noodled:runtime')
    this.metrics = new RuntimeMetrics(components.metrics, () => Object.fromEntries([...this.loaded].map(([s, l]) => [s, l.pool?.running ?? 0])))
  }

  readonly [Symbol.toStringTag] = 'noodled/runtime'
  readonly [serviceCapabilities]: string[] = ['noodled:runtime']

  async start (): Promise<void> {
    const { reconciler } = this.components.registry
    reconciler.addEventListener('instance:start', this.onStart)
    reconciler.addEventListener('instance:update', this.onUpdate)
    reconciler.addEventListener('instance:stop', this.onStop)
  }

  afterStart (): void {
    for (const instance of this.components.registry.reconciler.instances()) void this.load(instance)
  }

  async stop (): Promise<void> {
    const { reconciler } = this.components.registry
    reconciler.removeEventListener('instance:start', this.onStart)
    reconciler.removeEventListener('instance:update', this.onUpdate)
    reconciler.removeEventListener('instance:stop', this.onStop)
    await Promise.all([...this.loaded.keys()].map(async s => { await this.unload(s) }))
  }

  /**
   * Refuse (CapabilityDeniedError, naming each excess) a deploy whose
   * capabilities ask for more than this node's policy allows; owners with a
   * narrower policy refuse it when they load it.
   */
  admit (spec: ServiceSpec): void {
    if (spec.capabilities != null) grantFor(NOTHING_ASKED, this.policy, spec.capabilities)
  }

  /** The module services on this node. */
  status (): RuntimeServiceView[] {
    return [...this.loaded.values()].map(l => ({ ...l.view, instances: l.pool?.running ?? 0, ...(l.pool != null ? { counters: { ...l.pool.counters } } : {}) }))
  }

  /** The RPC endpoint of a module service that runs here. */
  endpoint (service: string): { kind: 'module', handler: (call: { fn: string, payload: Uint8Array, timeoutMs: number, signal: AbortSignal }) => Promise<Uint8Array> } | undefined {
    const loaded = this.loaded.get(service)
    if (loaded == null) return undefined
    return {
      kind: 'module',
      handler: async (call) => {
        const pool = this.loaded.get(service)?.pool
        if (pool == null) throw new ServiceNotReadyError(`"${service}" is ${this.loaded.get(service)?.view.state ?? 'not loaded'} here`)
        try {
          return await pool.call(call.fn, call.payload, { timeoutMs: call.timeoutMs, signal: call.signal })
        } catch (err: any) {
          // a call that waited on a pool a new version replaced runs on the new one
          const now = this.loaded.get(service)?.pool
          if (err.name !== 'NoHandlerError' || now == null || now === pool) throw err
          return await now.call(call.fn, call.payload, { timeoutMs: call.timeoutMs, signal: call.signal })
        }
      }
    }
  }

  private async load (instance: Instance): Promise<void> {
    const ref = instance.spec.module
    const service = instance.service
    const previous = this.loaded.get(service)
    if (ref == null) {
      if (previous != null) await this.unload(service)
      return
    }
    // what a running pool depends on in the spec: a change to any of it starts a new pool (as a new version would)
    const key = JSON.stringify([ref, instance.spec.capabilities ?? null, instance.spec.requirements.slots])
    if (previous?.key === key && previous.view.state !== 'failed') return
    previous?.controller.abort()
    const controller = new AbortController()
    if (previous?.retry != null) clearTimeout(previous.retry)
    const entry: Loaded = {
      key,
      controller,
      failures: previous?.key === key ? previous.failures : 0,
      view: { ...(previous?.view ?? { service, instances: 0, slots: 0, history: [] }), ref, state: previous?.pool != null ? 'running' : 'loading', since: previous?.view.since ?? new Date().toISOString() },
      ...(previous?.pool != null ? { pool: previous.pool } : {})
    }
    this.loaded.set(service, entry)
    let candidate: { module: string, cid: string } | undefined
    let pool: ModulePool | undefined
    try {
      const { modules, datastore } = this.components
      const fetched = await modules.fetch(ref, { signal: controller.signal })
      const root = fetched.modules[fetched.modules.length - 1]!
      candidate = { module: `${root.name}@${root.version}`, cid: root.cid }
      const { manifest, wasm } = await modules.store.read(CID.parse(root.cid), { signal: controller.signal })
      // the rest of the lockfile, dependencies first, linked into the same sandbox by name
      const dependencies = []
      for (const m of fetched.modules.slice(0, -1)) dependencies.push({ name: m.name, wasm: (await modules.store.read(CID.parse(m.cid), { signal: controller.signal })).wasm })
      const grant = grantFor(manifest, this.policy, instance.spec.capabilities)
      const slots = this.slotsFor(service, instance.spec.requirements.slots)
      pool = await ModulePool.create({ service, wasm, dependencies, grant, size: slots, host: { log: this.log, kv: new KvNamespace(datastore, service), call: this.meshCall }, observer: this.metrics.observer(service) })
      // a module that exports `health` must pass it before it takes calls
      if (manifest.exports.includes('health')) await pool.call('health', new Uint8Array(0), { timeoutMs: Math.min(grant.timeoutMs, HEALTH_TIMEOUT_MS), signal: controller.signal })
      if (controller.signal.aborted || this.loaded.get(service) !== entry) {
        await pool.close({ drainMs: 0 })
        return
      }
      const old = entry.pool
      const history = entry.view.history.map(h => h.outcome === 'running' ? { ...h, outcome: 'replaced' as const } : h)
      entry.pool = pool
      const { error: _error, ...rest } = entry.view
      entry.view = { ...rest, state: 'running', module: candidate.module, cid: candidate.cid, grant, slots, history: [...history, { ...candidate, at: new Date().toISOString(), outcome: 'running' as const }].slice(-HISTORY) }
      // new calls go to the new pool from here; the old one finishes what it has in flight
      if (old != null && old !== pool) void old.close()
      this.advertiseSlots()
      this.log('service %s runs %s (%s)', service, candidate.module, candidate.cid)
    } catch (err: any) {
      await pool?.close({ drainMs: 0 })
      if (controller.signal.aborted) return
      const error = `${err.name ?? 'Error'}: ${err.message}`
      const rolledBack = entry.pool != null
      const record = { ...(candidate ?? { module: ref, cid: '' }), at: new Date().toISOString(), outcome: rolledBack ? 'rolled back' as const : 'failed' as const, error }
      // a version failing again takes the place of its last failure rather than filling the history
      const last = entry.view.history.at(-1)
      const earlier = last?.outcome === 'failed' && last.module === record.module ? entry.view.history.slice(0, -1) : entry.view.history
      entry.view = { ...entry.view, ...(rolledBack ? {} : { state: 'failed' as const }), error, history: [...earlier, record].slice(-HISTORY) }
      if (rolledBack) {
        this.log.error('service %s: %s failed its start (%s); %s keeps serving', service, record.module, error, entry.view.module)
        return
      }
      // nothing runs: try again later (a provider may not be reachable yet), backing off
      entry.failures++
      const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (entry.failures - 1))
      this.log.error('service %s: could not load %s (attempt %d, next in %d ms): %e', service, ref, entry.failures, delay, err)
      entry.retry = setTimeout(() => { if (this.loaded.get(service) === entry) void this.load(instance) }, delay)
      entry.retry.unref?.()
    }
  }

  private async unload (service: string): Promise<void> {
    const loaded = this.loaded.get(service)
    if (loaded == null) return
    this.loaded.delete(service)
    if (loaded.retry != null) clearTimeout(loaded.retry)
    loaded.controller.abort()
    this.advertiseSlots()
    await loaded.pool?.close()
  }

  /**
   * The instances a service may run here: what its spec asks for (else the
   * node's default), within the worker slots the others have left; one at
   * least, so a service placed here always runs.
   */
  private slotsFor (service: string, requested: number): number {
    const wanted = requested > 0 ? requested : this.instances
    const total = this.components.membership?.slotsTotal ?? Infinity
    let taken = 0
    for (const [s, l] of this.loaded) if (s !== service && l.pool != null) taken += l.view.slots
    return Math.max(1, Math.min(wanted, total - taken))
  }

  /** Advertise the worker slots the module services hold (membership adverts; placement and operators read them). */
  private advertiseSlots (): void {
    let taken = 0
    for (const l of this.loaded.values()) if (l.pool != null) taken += l.view.slots
    this.components.membership?.setSlotsUsed(taken)
  }
}

export function runtime (init: RuntimeInit = {}): (components: RuntimeComponents) => Runtime {
  return (components) => new Runtime(components, init)
}
