import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import type { GossipSub } from '@libp2p/gossipsub'
import { serviceDependencies, serviceCapabilities, type ComponentLogger, type Libp2pEvents, type Logger, type PeerId, type PrivateKey, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import type { InstanceView, ResolveView } from '../interface/api.js'
import { MAX_SERVICES } from '../membership/constants.js'
import type { Membership } from '../membership/membership.js'
import { moves, type PlacementExplanation, type PlacementResult } from '../placement/place.js'
import { SERVICE_NAME } from '../placement/constants.js'
import { parseServiceSpec, type ServiceSpec } from '../placement/spec.js'
import type { Replicator } from '../replication/index.js'
import { ServiceCatalog, type CatalogGuard } from './catalog.js'
import { PlacementView } from './placement-view.js'
import { catalogReplication, type CatalogDigest } from './catalog-replication.js'
import { CATALOG_SYNC_INTERVAL_MS, RECONCILE_DEBOUNCE_MS, RECONCILE_INTERVAL_MS } from './constants.js'
import { localInstances, type DiscoveryMember } from './discovery.js'
import type { LocalEndpoint } from '../rpc/handlers.js'
import { isSocketEndpoint } from '../rpc/socket-endpoint.js'
import { ExternalServices, type ExternalInstance } from './external.js'
import { Reconciler } from './reconciler.js'
import { ServiceDht } from './service-dht.js'
import type { CatalogEntry } from './entry.js'
import { ServiceNotFoundError } from './errors.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'
import { lifetimeController } from '../signals.js'

export interface RegistryInit {
  /** @default '/noodle' */
  protocolPrefix?: string
  /** bounded-load epsilon for placement */
  loadEpsilon?: number
  /** @default CATALOG_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
  /** @default RECONCILE_INTERVAL_MS */
  reconcileIntervalMs?: number
  /**
   * announce instances on the DHT (provider records) and store specs there;
   * off for benchmarks that would otherwise measure DHT walks. @default true
   */
  useDht?: boolean
}

export interface RegistryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  dht?: KadDHT
  datastore: Datastore
  pubsub: GossipSub
  /** the members placement ranks, their events, and this node's adverts (the services it hosts) */
  membership: Pick<Membership, 'members' | 'setServices' | 'addEventListener' | 'removeEventListener'>
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** the module runtime, which refuses a deploy asking for more than this node's policy allows */
  runtime?: { admit: (spec: ServiceSpec) => void }
  /** capability tokens and the audit trail (lib/auth) */
  auth?: CatalogGuard
}

export interface ServiceStatus {
  name: string
  replicas: number
  spec: ServiceSpec
  /** owners computed from this node's membership view, closest first */
  owners: string[]
  instances: InstanceView[]
}

export interface DeployResult {
  name: string
  owners: string[]
  /** replicas of all services that would change owner (or did) */
  moves: number
  dryRun: boolean
}

/**
 * The service registry: the replicated catalog of service specs (gossiped on
 * every write, pulled from a random neighbour for anti-entropy, persisted),
 * and the placement of each service over this node's membership view. Every
 * node holding the same catalog and view computes the same owners.
 */
export class Registry implements Startable {
  readonly catalog: ServiceCatalog
  readonly reconciler: Reconciler
  readonly externals: ExternalServices
  readonly topic: string
  /** gossip, push-pull and anti-entropy of the catalog (see catalog-replication.ts) */
  readonly replication: Replicator<CatalogDigest>
  private readonly components: RegistryComponents
  private readonly init: RegistryInit
  private readonly log: Logger
  private controller?: AbortController
  private started = false
  private reconciles = 0
  /** placement over the current catalog and view (see placement-view.ts) */
  private readonly view: PlacementView
  private readonly resolved = new Map<string, ResolveView>()
  private reconcileTimer?: ReturnType<typeof setTimeout>
  private reconcileTask?: RepeatingTask
  private dht?: ServiceDht

  constructor (components: RegistryComponents, init: RegistryInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('noodled:registry')
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.catalog = new ServiceCatalog({ datastore: components.datastore, self: components.peerId.toString(), ...(components.auth != null ? { guard: components.auth } : {}) })
    this.replication = catalogReplication(components, { catalog: this.catalog, protocolPrefix: prefix, syncIntervalMs: init.syncIntervalMs ?? CATALOG_SYNC_INTERVAL_MS, log: this.log })
    this.topic = this.replication.topic
    this.view = new PlacementView({ specs: () => this.catalog.list(), members: () => components.membership.members(), ...(init.loadEpsilon != null ? { epsilon: init.loadEpsilon } : {}) })
    this.reconciler = new Reconciler(components.peerId.toString())
    this.externals = new ExternalServices({ datastore: components.datastore, log: components.logger.forComponent('noodled:registry:external') })
  }

  private readonly onChange = (): void => { this.invalidate() }

  readonly [Symbol.toStringTag] = 'noodled/registry'
  readonly [serviceCapabilities]: string[] = ['noodled:registry']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', 'noodled:membership']

  async start (): Promise<void> {
    if (this.started) return
    this.controller = lifetimeController()
    await this.catalog.load({ signal: this.controller.signal })
    await this.externals.start({ signal: this.controller.signal })
    if (this.components.dht != null && this.init.useDht !== false) {
      this.dht = new ServiceDht({ dht: this.components.dht, self: this.components.peerId, privateKey: this.components.privateKey, log: this.log, signal: this.controller.signal })
    }
    await this.replication.start()
    this.started = true
  }

  afterStart (): void {
    this.replication.afterStart()
    this.components.membership.addEventListener('member', this.onMember)
    this.catalog.addEventListener('change', this.onChange)
    this.externals.addEventListener('change', this.onChange)
    // besides every change: a recovered member's settle time ends without an event
    this.reconcileTask = repeatingTask(() => { this.reconcile() }, this.init.reconcileIntervalMs ?? RECONCILE_INTERVAL_MS)
    this.reconcileTask.start()
    this.reconcile()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller?.abort()
    this.reconcileTask?.stop()
    clearTimeout(this.reconcileTimer)
    this.reconcileTimer = undefined
    this.catalog.removeEventListener('change', this.onChange)
    this.externals.removeEventListener('change', this.onChange)
    this.externals.stop()
    this.reconciler.clear()
    this.components.membership.removeEventListener('member', this.onMember)
    await this.replication.stop()
  }

  private readonly onMember = (evt: CustomEvent<{ type: string, peerId: string }>): void => {
    // a newcomer may have missed writes made before it subscribed
    if (evt.detail.type === 'join' && !this.replication.caughtUp) void this.replication.antiEntropy()
    if (evt.detail.type === 'recovered') this.view.recovered(evt.detail.peerId)
    this.invalidate()
  }

  // ---- operations --------------------------------------------------------

  /** Declare or replace a service (or, with dryRun, only say what would happen). */
  async deploy (input: unknown, options: { dryRun?: boolean, signal?: AbortSignal } = {}): Promise<DeployResult> {
    const spec = parseServiceSpec(input)
    this.components.runtime?.admit(spec)
    const before = this.placement()
    const specs = [...this.catalog.list().filter(s => s.name !== spec.name), spec]
    const after = this.view.of(specs)
    const result: DeployResult = { name: spec.name, owners: after.services.get(spec.name)?.owners ?? [], moves: moves(before, after), dryRun: options.dryRun === true }
    if (options.dryRun === true) return result
    await this.write(await this.catalog.put(spec, options))
    return result
  }

  async scale (name: string, replicas: number, options: { signal?: AbortSignal } = {}): Promise<DeployResult> {
    return this.deploy({ ...this.catalog.get(name), replicas }, options)
  }

  async remove (name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.write(await this.catalog.remove(name, options))
  }

  list (): ServiceStatus[] {
    const placement = this.placement()
    return this.catalog.list().map(spec => this.statusOf(spec, placement))
  }

  /** One service's status, from this node's catalog. */
  status (name: string): ServiceStatus {
    return this.statusOf(this.catalog.get(name), this.placement())
  }

  /**
   * As status, but a service this node's catalog lacks (it has not caught up
   * yet) is looked up on the DHT, where every write is stored under the
   * service key, and merged into the catalog.
   */
  async lookup (name: string, options: { signal?: AbortSignal } = {}): Promise<ServiceStatus> {
    if (!this.catalog.has(name)) await this.fetchSpec(name, options)
    return this.status(name)
  }

  explain (name: string): PlacementExplanation {
    if (!this.catalog.has(name)) throw new ServiceNotFoundError(`no service "${name}" in the catalog`)
    return this.view.explain(name)!
  }

  /** Placement of the whole catalog over this node's view; computed once per change of either. */
  placement (): PlacementResult {
    return this.view.current()
  }

  /**
   * The live instances of a service, from what this node knows (catalog,
   * placement, membership, adverts), cached until any of it changes; when
   * none of that names the service, from the DHT's provider records.
   */
  async resolve (name: string, options: { signal?: AbortSignal } = {}): Promise<ResolveView> {
    const hit = this.resolved.get(name)
    if (hit != null) return hit
    const local = this.resolveLocal(name)
    if (local.declared || local.instances.length > 0) {
      this.resolved.set(name, local)
      return local
    }
    if (await this.fetchSpec(name, options)) return await this.resolve(name, options)
    const providers = await this.findProviders(name, options)
    if (providers.length === 0) throw new ServiceNotFoundError(`no service "${name}": not in the catalog, not announced by any member, no provider records`)
    // not cached: a service known only from the DHT is looked up again next time
    return { name, declared: false, source: 'dht', instances: providers }
  }

  /** What resolve() answers now, when it is cached (no lookup, no waiting); undefined otherwise. */
  resolveCached (name: string): ResolveView | undefined {
    return this.resolved.get(name)
  }

  /** Drop what was computed from the catalog and the view, and reconcile soon. */
  private invalidate (): void {
    this.view.invalidate()
    this.resolved.clear()
    if (this.reconcileTimer == null && this.started) {
      this.reconcileTimer = setTimeout(() => {
        this.reconcileTimer = undefined
        this.reconcile()
      }, RECONCILE_DEBOUNCE_MS)
    }
  }

  /** Start what this node owns and stop what it no longer owns; announce what it hosts. */
  private reconcile (): void {
    if (!this.started) return
    this.reconciles++
    const changes = this.reconciler.reconcile(this.placement(), this.catalog.list())
    if (changes.started.length + changes.stopped.length + changes.updated.length > 0) {
      this.log('reconciled: started %o, stopped %o, updated %o', changes.started, changes.stopped, changes.updated)
    }
    // external instances first: other members cannot compute them, and adverts hold only 64 names
    this.components.membership.setServices([...this.externals.healthy(), ...this.reconciler.replicas().map(r => r.service)])
    for (const name of changes.started) this.dht?.announce(name)
  }

  private resolveLocal (name: string): ResolveView {
    const members = new Map<string, DiscoveryMember>()
    for (const m of this.components.membership.members()) members.set(m.peerId, m)
    const instances = localInstances(name, {
      self: this.components.peerId.toString(),
      placement: this.placement(),
      members,
      runs: (s) => this.reconciler.runs(s),
      external: (s) => { const e = this.externals.get(s); return e == null ? undefined : e.status === 'passing' }
    })
    return { name, declared: this.catalog.has(name), source: 'local', instances }
  }

  private statusOf (spec: ServiceSpec, placement: PlacementResult): ServiceStatus {
    const owners = placement.services.get(spec.name)?.owners ?? []
    return { name: spec.name, replicas: spec.replicas, spec, owners, instances: this.resolveLocal(spec.name).instances }
  }

  // ---- external services -------------------------------------------------

  async register (input: unknown, options: { signal?: AbortSignal } = {}): Promise<ExternalInstance> {
    const instance = await this.externals.register(input, options)
    this.dht?.announce(instance.name)
    return instance
  }

  async deregister (name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.externals.deregister(name, options)
  }

  /**
   * How this daemon serves `name` now: its external instance's endpoint
   * while the check passes. Placed replicas of module services are served
   * by the runtime (Runtime.endpoint), asked first.
   */
  localEndpoint (name: string): LocalEndpoint | undefined {
    const endpoint = this.externals.passingEndpoint(name)
    if (endpoint == null) return undefined
    if (endpoint.startsWith('builtin:')) return { kind: 'builtin', name: endpoint.slice('builtin:'.length) }
    return isSocketEndpoint(endpoint) ? { kind: 'socket', url: endpoint } : { kind: 'http', url: endpoint }
  }

  /**
   * True when placement makes this node an owner of a module service: its
   * runtime runs it, or is about to (reconciliation is debounced and the
   * module may still be fetched), so a call that finds no endpoint here is
   * early, not misrouted.
   */
  ownsModuleService (name: string): boolean {
    if (!this.catalog.has(name) || this.catalog.get(name).module == null) return false
    return this.placement().services.get(name)?.owners.includes(this.components.peerId.toString()) ?? false
  }

  // ---- the DHT -----------------------------------------------------------

  /** Alive members with a provider record for the service, except those whose adverts say they do not host it. */
  private async findProviders (name: string, options: { signal?: AbortSignal }): Promise<InstanceView[]> {
    if (this.dht == null) return []
    const members = new Map(this.components.membership.members().map(m => [m.peerId, m]))
    const found: InstanceView[] = []
    for (const peerId of await this.dht.providers(name, options)) {
      const member = members.get(peerId)
      // a provider record outlives its provider: only members alive now count, and not
      // those whose adverts have room for the name but leave it out (no healthy instance there)
      if (member == null || member.status === 'failed' || member.status === 'left') continue
      if (member.services.length < MAX_SERVICES && !member.services.includes(name)) continue
      found.push({ peerId, kind: 'provider', healthy: member.status === 'alive', memberStatus: member.status, announced: false })
    }
    return found
  }

  /** Look a spec up on the DHT and merge it; true when the catalog learnt something. */
  private async fetchSpec (name: string, options: { signal?: AbortSignal }): Promise<boolean> {
    if (this.dht == null || !SERVICE_NAME.test(name)) return false
    const entries = await this.dht.entries(name, options)
    if (entries.length === 0) return false
    const { applied } = await this.catalog.merge(entries, options)
    return applied.length > 0
  }

  // ---- replication -------------------------------------------------------

  /** Replication and placement counts, for tests and the daemon's metrics. */
  get counters (): { gossipRejected: number, syncRejected: number, pulls: number, reconciles: number, placements: number } {
    return { ...this.replication.counters, reconciles: this.reconciles, placements: this.view.computed }
  }

  /** Asks a neighbour for every entry newer than this node's, and merges them; the number applied. */
  async pull (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.replication.pull(peer, options)
  }

  /**
   * A local write reaches the mesh by gossip and push-pull (see
   * Replicator.announce), and is stored on the DHT in the background.
   */
  private async write (entry: CatalogEntry): Promise<void> {
    await this.replication.announce([entry])
    void this.dht?.store(entry)
  }

  isStarted (): boolean {
    return this.started
  }
}
