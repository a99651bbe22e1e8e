import { serviceDependencies, serviceCapabilities, type Logger, type Startable } from '@libp2p/interface'
import type { RuntimeOwnerView, RuntimeServiceView } from '../interface/api.js'
import { NoInstanceError, ServiceNotReadyError } from '../interface/errors.js'
import type { ServiceSpec } from '../placement/spec.js'
import type { Replica } from '../registry/reconciler.js'
import { CATALOG_RETRY_MS, DEFAULT_PROBATION_MS, DEFAULT_SPARE_WORKERS, DEFAULT_WORKERS_PER_SERVICE, HEALTH_TIMEOUT_MS, RETRY_MAX_MS, RETRY_MS } from './constants.js'
import { DEFAULT_POLICY, grantFor, type NodePolicy } from './grants.js'
import type { MeshCall } from './host.js'
import type { RuntimeComponents, RuntimeInit } from './index.js'
import { KvNamespace } from './kv.js'
import { remember, switchTo, type LoadedService, type PoolSource } from './loaded-service.js'
import { RuntimeMetrics } from './metrics.js'
import { moduleSource, type ModuleSourceInit } from './module-source.js'
import { ModulePool } from './pool.js'
import { Owners } from './owners.js'
import { Probation } from './probation.js'
import { SpareWorkers } from './spare-workers.js'
import { checkTrusted } from './trust.js'

/** A manifest that asks for nothing: checks a deploy's capabilities against the policy alone. */
const NOTHING_ASKED = { capabilities: { log: false, kv: false, call: [], http: [], paths: [] }, resources: { memoryPages: 1, timeoutMs: 1 } }

/**
 * Runs the module services this node owns: when placement makes it an owner
 * of a service with `"module": "name@range"`, the module and its
 * dependencies are fetched (verified, pinned), the root module gets a grant
 * (manifest ∩ this node's policy) and a pool of sandboxed workers, and RPC
 * calls to the service go to the pool. An update starts the new version
 * beside the old one, switches calls once it passes its health check, and
 * watches it on probation; when the node stops owning the service, the pool
 * is closed.
 */
export class Runtime implements Startable {
  readonly spares: SpareWorkers
  private readonly components: RuntimeComponents
  private readonly policy: NodePolicy
  private readonly workers: number
  private readonly log: Logger
  private readonly loaded = new Map<string, LoadedService>()
  private readonly metrics: RuntimeMetrics
  private readonly owners: Owners
  private readonly probation: Probation
  private catalogRetry?: ReturnType<typeof setTimeout>
  private started = false
  private stopping = false

  private readonly onStart = (evt: CustomEvent<Replica>): void => { void this.load(evt.detail) }
  private readonly onUpdate = (evt: CustomEvent<Replica>): void => { void this.load(evt.detail) }
  private readonly onStop = (evt: CustomEvent<Replica>): void => { void this.unload(evt.detail.service) }
  /**
   * The catalog learnt a version: a service that could not be loaded
   * (its module unknown, say) is tried again now rather than at the end of
   * its backoff, which may be a minute away. Debounced: a catalog sync
   * brings many versions at once.
   */
  private readonly onCatalog = (): void => {
    if (this.catalogRetry != null) return
    this.catalogRetry = setTimeout(() => {
      this.catalogRetry = undefined
      for (const l of this.loaded.values()) {
        if (l.view.state !== 'failed' || l.retry == null) continue
        clearTimeout(l.retry)
        l.retry = undefined
        void this.load(l.replica)
      }
    }, CATALOG_RETRY_MS)
  }

  private readonly meshCall: MeshCall = async (service, fn, payload, options) => {
    const rpc = this.components.rpc
    if (rpc == null) throw new NoInstanceError('this node has no mesh RPC')
    return (await rpc.call(service, fn, payload, options)).payload
  }

  constructor (components: RuntimeComponents, init: RuntimeInit = {}) {
    this.components = components
    this.policy = init.policy ?? DEFAULT_POLICY
    this.workers = init.instancesPerService ?? DEFAULT_WORKERS_PER_SERVICE
    this.log = components.logger.forComponent('noodled:runtime')
    this.spares = new SpareWorkers(init.spareWorkers ?? DEFAULT_SPARE_WORKERS)
    this.owners = new Owners(components, { protocolPrefix: init.protocolPrefix, statusOf: (service) => this.statusOf(service), log: this.log })
    this.metrics = new RuntimeMetrics(components.metrics, () => Object.fromEntries([...this.loaded].map(([s, l]) => [s, l.pool?.running ?? 0])))
    this.probation = new Probation({
      probationMs: init.probationMs ?? DEFAULT_PROBATION_MS,
      startPool: async (service, source) => await this.startPool(service, source),
      isCurrent: (entry) => this.loaded.get(entry.view.service) === entry,
      log: this.log
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/runtime'
  readonly [serviceDependencies]: string[] = ['noodled:registry', 'noodled:modules']
  readonly [serviceCapabilities]: string[] = ['noodled:runtime']

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.owners.start()
    const { reconciler } = this.components.registry
    reconciler.addEventListener('replica:start', this.onStart)
    reconciler.addEventListener('replica:update', this.onUpdate)
    reconciler.addEventListener('replica:stop', this.onStop)
    this.components.modules.catalog.addEventListener('change', this.onCatalog)
    this.stopping = false
    this.started = true
  }

  afterStart (): void {
    for (const replica of this.components.registry.reconciler.replicas()) void this.load(replica)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.stopping = true
    const { reconciler } = this.components.registry
    reconciler.removeEventListener('replica:start', this.onStart)
    reconciler.removeEventListener('replica:update', this.onUpdate)
    reconciler.removeEventListener('replica:stop', this.onStop)
    this.components.modules.catalog.removeEventListener('change', this.onCatalog)
    clearTimeout(this.catalogRetry)
    await Promise.all([...this.loaded.keys()].map(async s => { await this.unload(s) }))
    await this.owners.stop()
    await this.spares.stop()
  }

  /**
   * Refuse (CapabilityDeniedError, naming each excess) a deploy whose
   * capabilities ask for more than this node's policy allows; owners with a
   * narrower policy refuse it when they load it. Likewise a module (or a
   * dependency) from a publisher this node does not trust
   * (UntrustedModuleError), when the catalog here already knows it.
   */
  admit (spec: ServiceSpec): void {
    if (spec.capabilities != null) grantFor(NOTHING_ASKED, this.policy, spec.capabilities)
    if (spec.module != null && this.policy.trustedPublishers != null) {
      let lock: string[] | undefined
      try {
        const r = this.components.modules.resolve(spec.module)
        lock = r.order.map(id => r.lock[id]!)
      } catch {}
      if (lock != null) checkTrusted(lock, this.components.modules.catalog, this.policy.trustedPublishers)
    }
  }

  /** The module services on this node. */
  status (): RuntimeServiceView[] {
    return [...this.loaded.keys()].map(s => this.statusOf(s)!)
  }

  /** One module service on this node. */
  statusOf (service: string): RuntimeServiceView | undefined {
    const l = this.loaded.get(service)
    if (l == null) return undefined
    return { ...l.view, instances: l.pool?.running ?? 0, ...(l.pool != null ? { counters: { ...l.pool.counters } } : {}) }
  }

  /** Every owner's view of a service: the mesh-wide history (owners.ts). */
  async history (service: string, options: { signal?: AbortSignal } = {}): Promise<RuntimeOwnerView[]> {
    return await this.owners.history(service, options)
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

  // ---- loading -----------------------------------------------------------

  /**
   * Bring a replica's pool in line with its spec: a first load starts it, a
   * changed module, capability or slot count starts a new pool beside the
   * running one (an update, taken one owner at a time), and a failure either
   * keeps the old pool serving or retries with backoff.
   */
  private async load (replica: Replica): Promise<void> {
    const ref = replica.spec.module
    const service = replica.service
    const previous = this.loaded.get(service)
    if (ref == null) {
      if (previous != null) await this.unload(service)
      return
    }
    // what a running pool depends on in the spec: a change to any of it starts a new pool (as a new version would)
    const key = JSON.stringify([ref, replica.spec.capabilities ?? null, replica.spec.requirements.slots])
    if (previous?.key === key && previous.view.state !== 'failed') return
    // a node keeps a started worker once it runs module services; one that never does pays nothing
    if (!this.stopping) this.spares.start()
    const entry = this.begin(replica, ref, key, previous)
    const { signal } = entry.controller
    let candidate: { module: string, cid: string } | undefined
    let pool: ModulePool | undefined
    const began = performance.now()
    let prepared = began
    try {
      const source = await moduleSource(this.sourceInit(), replica, signal)
      prepared = performance.now()
      candidate = { module: source.module, cid: source.cid }
      // an update: owners take it one at a time (a first load, or a new owner, just starts)
      if (entry.pool != null && await this.halted(entry, source, signal)) return
      pool = await this.startPool(service, source)
      // a module that exports `health` must pass it before it takes calls
      if (source.exports.includes('health')) await pool.call('health', new Uint8Array(0), { timeoutMs: Math.min(source.grant.timeoutMs, HEALTH_TIMEOUT_MS), signal })
      if (signal.aborted || this.loaded.get(service) !== entry) {
        await pool.close({ drainMs: 0 })
        return
      }
      this.adopt(entry, pool, source)
      // where a slow start went: getting the module (fetch, verify, trust) or starting it (an update's turn, compile, worker, health)
      this.log('service %s runs %s (%s): module ready in %d ms, started in %d ms', service, candidate.module, candidate.cid, Math.round(prepared - began), Math.round(performance.now() - prepared))
    } catch (err: any) {
      await pool?.close({ drainMs: 0 })
      if (signal.aborted) return
      this.failed(entry, candidate ?? { module: ref, cid: '' }, err)
    }
  }

  /** The service's new entry: what ran before (its pool, view and history) carries over until the new load switches. */
  private begin (replica: Replica, ref: string, key: string, previous: LoadedService | undefined): LoadedService {
    const service = replica.service
    previous?.controller.abort()
    if (previous?.retry != null) clearTimeout(previous.retry)
    const entry: LoadedService = {
      key,
      replica,
      controller: new AbortController(),
      failures: previous?.key === key ? previous.failures : 0,
      view: { ...(previous?.view ?? { service, instances: 0, slots: 0, history: [] }), ref, state: previous?.pool != null ? 'running' : 'loading', since: previous?.view.since ?? new Date().toISOString() },
      ...(previous?.pool != null ? { pool: previous.pool } : {}),
      ...(previous?.source != null ? { source: previous.source } : {})
    }
    this.loaded.set(service, entry)
    return entry
  }

  /** An update waits for this owner's turn (owners.ts); true when the rollout halted meanwhile and the update is not started here. */
  private async halted (entry: LoadedService, source: PoolSource, signal: AbortSignal): Promise<boolean> {
    const service = entry.view.service
    const { halt } = await this.owners.turn(service, source.cid, signal)
    if (halt == null) return false
    if (this.loaded.get(service) === entry) {
      entry.view = { ...entry.view, error: `${source.module} not started: ${halt}`, history: remember(entry, { module: source.module, cid: source.cid, at: new Date().toISOString(), outcome: 'halted', error: halt }) }
      this.log.error('service %s: %s not started here, the rollout halted: %s', service, source.module, halt)
    }
    return true
  }

  /** New calls go to `pool` from here; the pool before finishes what it has in flight, and the new version is on probation. */
  private adopt (entry: LoadedService, pool: ModulePool, source: PoolSource): void {
    const old = entry.pool
    const oldSource = entry.source
    switchTo(entry, pool, source)
    if (old != null && old !== pool) {
      const before = { calls: old.counters.calls, errors: old.counters.errors }
      void old.close()
      if (oldSource != null) this.probation.watch(entry, pool, before, oldSource)
    }
    this.advertiseSlots()
  }

  /** A load failed: the running version keeps serving (rolled back), or, with nothing running, another try later. */
  private failed (entry: LoadedService, candidate: { module: string, cid: string }, err: any): void {
    const service = entry.view.service
    const error = `${err.name ?? 'Error'}: ${err.message}`
    const rolledBack = entry.pool != null
    const record = { ...candidate, at: new Date().toISOString(), outcome: rolledBack ? 'rolled back' as const : 'failed' as const, error }
    entry.view = { ...entry.view, ...(rolledBack ? {} : { state: 'failed' as const }), error, history: remember(entry, record) }
    if (rolledBack) {
      this.log.error('service %s: %s failed its start (%s); %s keeps serving', service, record.module, error, entry.view.module)
      return
    }
    // nothing runs: try again later (a provider may not be reachable yet), backing off
    entry.failures++
    const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (entry.failures - 1))
    this.log.error('service %s: could not load %s (attempt %d, next in %d ms): %e', service, entry.view.ref, entry.failures, delay, err)
    entry.retry = setTimeout(() => { if (this.loaded.get(service) === entry) void this.load(entry.replica) }, delay)
    entry.retry.unref?.()
  }

  /** What moduleSource needs, named one by one: libp2p's components object is a proxy, which a spread does not copy. */
  private sourceInit (): ModuleSourceInit {
    const { modules, registry, peerId } = this.components
    return { modules, registry, self: peerId, policy: this.policy, slotsFor: (s, n) => this.slotsFor(s, n) }
  }

  private async startPool (service: string, source: PoolSource): Promise<ModulePool> {
    return await ModulePool.create({
      service,
      wasm: source.wasm,
      dependencies: source.dependencies,
      grant: source.grant,
      size: source.slots,
      host: { log: this.log, kv: new KvNamespace(this.components.datastore, service), call: this.meshCall },
      observer: this.metrics.observer(service),
      spares: this.spares
    })
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

  // ---- worker slots ------------------------------------------------------

  /**
   * The workers a service may run here: what its spec asks for (else the
   * node's default), within the worker slots the others have left; one at
   * least, so a service placed here always runs.
   */
  private slotsFor (service: string, requested: number): number {
    const wanted = requested > 0 ? requested : this.workers
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
