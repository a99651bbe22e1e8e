import { serviceCapabilities, type ComponentLogger, type Logger, type Metrics, type PeerId, type Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import type { RuntimeOwnerView, RuntimeServiceView } from '../interface/api.js'
import { NoInstanceError, ServiceNotReadyError } from '../interface/errors.js'
import type { Membership } from '../membership/index.js'
import type { Modules } from '../modules/index.js'
import type { ServiceSpec } from '../placement/spec.js'
import type { Registry } from '../registry/registry.js'
import type { Instance } from '../registry/reconciler.js'
import { DEFAULT_POLICY, grantFor, type Grant, type NodePolicy } from './grants.js'
import { checkTrusted } from './trust.js'
import type { MeshCall } from './host.js'
import { KvNamespace } from './kv.js'
import { RuntimeMetrics } from './metrics.js'
import { ModulePool } from './pool.js'
import { Owners } from './owners.js'
import { errorSpike } from './rollout.js'
import { SpareWorkers } from './spare-workers.js'

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
/** A catalog change retries failed loads after this (one retry for a burst of versions). */
const CATALOG_RETRY_MS = 100
/** After an update switches, the new version is watched this long for an error-rate spike (rollout.ts); the next owner waits for it. */
export const DEFAULT_PROBATION_MS = 10_000
const PROBATION_CHECK_MS = 250
/** One started worker waiting for the next instance: a cold start without the thread's ~50 ms start. */
export const DEFAULT_SPARE_WORKERS = 1

export interface RuntimeInit {
  policy?: NodePolicy
  /** instances (worker slots) a module service gets here when its spec asks for none */
  instancesPerService?: number
  /** how long a new version is watched for an error-rate spike after an update; @default DEFAULT_PROBATION_MS */
  probationMs?: number
  /** Extism workers kept started for new instances (0: none); @default DEFAULT_SPARE_WORKERS */
  spareWorkers?: number
  /** @default '/noodle' */
  protocolPrefix?: string
}

export interface RuntimeComponents {
  registry: Registry
  modules: Modules
  datastore: Datastore
  logger: ComponentLogger
  /** advertises the worker slots taken; absent in unit tests */
  membership?: Membership
  metrics?: Metrics
  /** the runtime status protocol (rolling updates, mesh-wide history); absent in unit tests */
  peerId?: PeerId
  registrar?: Registrar
  connectionManager?: ConnectionManager
  /** mesh calls for modules granted `call` */
  rpc?: { call: (service: string, fn: string, payload: Uint8Array, options: { timeoutMs: number, signal: AbortSignal }) => Promise<{ payload: Uint8Array }> }
}

/** What a pool is made from: kept while it runs, so an update can be rolled back to it. */
interface PoolSource {
  module: string
  cid: string
  wasm: Uint8Array
  dependencies: Array<{ name: string, wasm: Uint8Array }>
  exports: string[]
  grant: Grant
  slots: number
}

interface Loaded {
  /** the spec's module, capabilities and slots this entry was loaded for */
  key: string
  instance: Instance
  view: RuntimeServiceView
  pool?: ModulePool
  source?: PoolSource
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
  private readonly probationMs: number
  private readonly owners: Owners
  readonly spares: SpareWorkers
  private stopping = false

  private readonly onStart = (evt: CustomEvent<Instance>): void => { void this.load(evt.detail) }
  private readonly onUpdate = (evt: CustomEvent<Instance>): void => { void this.load(evt.detail) }
  private readonly onStop = (evt: CustomEvent<Instance>): void => { void this.unload(evt.detail.service) }
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
        void this.load(l.instance)
      }
    }, CATALOG_RETRY_MS)
  }

  private catalogRetry?: ReturnType<typeof setTimeout>

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
    this.probationMs = init.probationMs ?? DEFAULT_PROBATION_MS
    this.spares = new SpareWorkers(init.spareWorkers ?? DEFAULT_SPARE_WORKERS)
    this.owners = new Owners(components, { protocolPrefix: init.protocolPrefix, statusOf: (service) => this.statusOf(service), log: this.log })
    this.metrics = new RuntimeMetrics(components.metrics, () => Object.fromEntries([...this.loaded].map(([s, l]) => [s, l.pool?.running ?? 0])))
  }

  readonly [Symbol.toStringTag] = 'noodled/runtime'
  readonly [serviceCapabilities]: string[] = ['noodled:runtime']

  async start (): Promise<void> {
    await this.owners.start()
    const { reconciler } = this.components.registry
    reconciler.addEventListener('instance:start', this.onStart)
    reconciler.addEventListener('instance:update', this.onUpdate)
    reconciler.addEventListener('instance:stop', this.onStop)
    this.components.modules.catalog.addEventListener('change', this.onCatalog)
  }

  afterStart (): void {
    for (const instance of this.components.registry.reconciler.instances()) void this.load(instance)
  }

  async stop (): Promise<void> {
    this.stopping = true
    const { reconciler } = this.components.registry
    reconciler.removeEventListener('instance:start', this.onStart)
    reconciler.removeEventListener('instance:update', this.onUpdate)
    reconciler.removeEventListener('instance:stop', this.onStop)
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
    // a node keeps a started worker once it runs module services; one that never does pays nothing
    if (!this.stopping) this.spares.start()
    previous?.controller.abort()
    const controller = new AbortController()
    if (previous?.retry != null) clearTimeout(previous.retry)
    const entry: Loaded = {
      key,
      instance,
      controller,
      failures: previous?.key === key ? previous.failures : 0,
      view: { ...(previous?.view ?? { service, instances: 0, slots: 0, history: [] }), ref, state: previous?.pool != null ? 'running' : 'loading', since: previous?.view.since ?? new Date().toISOString() },
      ...(previous?.pool != null ? { pool: previous.pool } : {}),
      ...(previous?.source != null ? { source: previous.source } : {})
    }
    this.loaded.set(service, entry)
    let candidate: { module: string, cid: string } | undefined
    let pool: ModulePool | undefined
    const began = performance.now()
    let prepared = began
    try {
      const source = await this.prepare(instance, controller.signal)
      prepared = performance.now()
      candidate = { module: source.module, cid: source.cid }
      // an update: owners take it one at a time (a first load, or a new owner, just starts)
      if (entry.pool != null) {
        const { halt } = await this.owners.turn(service, source.cid, controller.signal)
        if (halt != null) {
          if (this.loaded.get(service) !== entry) return
          entry.view = { ...entry.view, error: `${candidate.module} not started: ${halt}`, history: this.remember(entry, { ...candidate, at: new Date().toISOString(), outcome: 'halted', error: halt }) }
          this.log.error('service %s: %s not started here, the rollout halted: %s', service, candidate.module, halt)
          return
        }
      }
      pool = await this.startPool(service, source)
      // a module that exports `health` must pass it before it takes calls
      if (source.exports.includes('health')) await pool.call('health', new Uint8Array(0), { timeoutMs: Math.min(source.grant.timeoutMs, HEALTH_TIMEOUT_MS), signal: controller.signal })
      if (controller.signal.aborted || this.loaded.get(service) !== entry) {
        await pool.close({ drainMs: 0 })
        return
      }
      const old = entry.pool
      const oldSource = entry.source
      this.switchTo(entry, pool, source)
      // new calls go to the new pool from here; the old one finishes what it has in flight
      if (old != null && old !== pool) {
        const before = { calls: old.counters.calls, errors: old.counters.errors }
        void old.close()
        if (oldSource != null) this.probation(entry, pool, before, oldSource)
      }
      this.advertiseSlots()
      // where a slow start went: getting the module (fetch, verify, trust) or starting it (an update's turn, compile, worker, health)
      this.log('service %s runs %s (%s): module ready in %d ms, started in %d ms', service, candidate.module, candidate.cid, Math.round(prepared - began), Math.round(performance.now() - prepared))
    } catch (err: any) {
      await pool?.close({ drainMs: 0 })
      if (controller.signal.aborted) return
      const error = `${err.name ?? 'Error'}: ${err.message}`
      const rolledBack = entry.pool != null
      const record = { ...(candidate ?? { module: ref, cid: '' }), at: new Date().toISOString(), outcome: rolledBack ? 'rolled back' as const : 'failed' as const, error }
      entry.view = { ...entry.view, ...(rolledBack ? {} : { state: 'failed' as const }), error, history: this.remember(entry, record) }
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

  /**
   * The other members running `service` (replicas this node sees as healthy,
   * those whose adverts list it first): they hold its module, so a new owner
   * asks them before the publisher and the DHT.
   */
  private otherReplicas (service: string): PeerId[] {
    const self = this.components.peerId?.toString()
    let instances
    try {
      instances = this.components.registry.status(service).instances
    } catch {
      return []
    }
    return instances
      .filter(i => i.kind === 'replica' && i.healthy && i.peerId !== self)
      .sort((a, b) => Number(b.announced) - Number(a.announced))
      .map(i => peerIdFromString(i.peerId))
  }

  /** Fetch the module and its dependencies (verified, pinned) and work out its grant and slots. */
  private async prepare (instance: Instance, signal: AbortSignal): Promise<PoolSource> {
    const { modules } = this.components
    const fetched = await modules.fetch(instance.spec.module!, { signal, likelyHolders: this.otherReplicas(instance.service) })
    // fetched and verified, but nothing of it runs unless its publishers are trusted here
    checkTrusted(fetched.modules.map(m => m.cid), modules.catalog, this.policy.trustedPublishers)
    const root = fetched.modules[fetched.modules.length - 1]!
    const { manifest, wasm } = await modules.store.read(CID.parse(root.cid), { signal })
    // the rest of the lockfile, dependencies first, linked into the same sandbox by name
    const dependencies = []
    for (const m of fetched.modules.slice(0, -1)) dependencies.push({ name: m.name, wasm: (await modules.store.read(CID.parse(m.cid), { signal })).wasm })
    return {
      module: `${root.name}@${root.version}`,
      cid: root.cid,
      wasm,
      dependencies,
      exports: manifest.exports,
      grant: grantFor(manifest, this.policy, instance.spec.capabilities),
      slots: this.slotsFor(instance.service, instance.spec.requirements.slots)
    }
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

  /** Make `pool` the one calls go to, and say so in the view and its history. */
  private switchTo (entry: Loaded, pool: ModulePool, source: PoolSource): void {
    const now = new Date().toISOString()
    const history = entry.view.history.map(h => h.outcome === 'running' ? { ...h, outcome: 'replaced' as const } : h)
    entry.pool = pool
    entry.source = source
    const { error: _error, probationUntil: _until, ...rest } = entry.view
    entry.view = { ...rest, state: 'running', module: source.module, cid: source.cid, grant: source.grant, slots: source.slots, history: [...history, { module: source.module, cid: source.cid, at: now, outcome: 'running' as const }].slice(-HISTORY) }
  }

  /** Append to a service's history; a version failing again takes the place of its last failure rather than filling it. */
  private remember (entry: Loaded, record: RuntimeServiceView['history'][number]): RuntimeServiceView['history'] {
    const last = entry.view.history.at(-1)
    const earlier = last?.outcome === record.outcome && last.module === record.module && record.outcome !== 'running' ? entry.view.history.slice(0, -1) : entry.view.history
    return [...earlier, record].slice(-HISTORY)
  }

  /**
   * After a switch, watch the new version for `probationMs`: an error-rate
   * spike (rollout.ts) brings the version before back, as a failed health
   * check would have. Owners after this one wait for the probation to end.
   */
  private probation (entry: Loaded, pool: ModulePool, before: { calls: number, errors: number }, back: PoolSource): void {
    const until = Date.now() + this.probationMs
    entry.view = { ...entry.view, probationUntil: new Date(until).toISOString() }
    const timer = setInterval(() => {
      if (entry.pool !== pool || this.loaded.get(entry.view.service) !== entry) {
        clearInterval(timer)
        return
      }
      const spike = errorSpike(pool.counters, before)
      if (spike == null && Date.now() < until) return
      clearInterval(timer)
      // a spike keeps the probation mark until the version before is back (the next owner waits)
      if (spike != null) {
        void this.rollBack(entry, pool, back, spike)
        return
      }
      const { probationUntil: _until, ...rest } = entry.view
      entry.view = rest
    }, PROBATION_CHECK_MS)
    timer.unref?.()
  }

  private async rollBack (entry: Loaded, bad: ModulePool, back: PoolSource, why: string): Promise<void> {
    const service = entry.view.service
    const failing = { module: entry.view.module ?? '', cid: entry.view.cid ?? '' }
    // decided now: an owner asking from here on sees it rolled back and halts
    entry.view = { ...entry.view, history: entry.view.history.map((h, i, all) => i === all.length - 1 && h.cid === failing.cid ? { ...h, outcome: 'rolled back' as const, error: why } : h) }
    let pool: ModulePool
    try {
      pool = await this.startPool(service, back)
    } catch (err: any) {
      const { probationUntil: _until, ...rest } = entry.view
      entry.view = { ...rest, error: `${failing.module} has an error spike (${why}) and ${back.module} could not be started again: ${err.message as string}` }
      this.log.error('service %s: %s has an error spike (%s), and %s could not be started again: %e', service, failing.module, why, back.module, err)
      return
    }
    if (entry.pool !== bad || this.loaded.get(service) !== entry) {
      await pool.close({ drainMs: 0 })
      return
    }
    this.switchTo(entry, pool, back)
    entry.view = { ...entry.view, error: `${failing.module} rolled back: ${why}` }
    void bad.close()
    this.log.error('service %s: %s rolled back to %s: %s', service, failing.module, back.module, why)
  }

  /** Every owner's view of a service: the mesh-wide history (owners.ts). */
  async history (service: string, options: { signal?: AbortSignal } = {}): Promise<RuntimeOwnerView[]> {
    return await this.owners.history(service, options)
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
