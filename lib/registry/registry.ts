import { setMaxListeners } from 'node:events'
import { repeatingTask, lpStream, type RepeatingTask } from '@libp2p/utils'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import { z } from 'zod'
import { DRAIN_LABEL } from '../interface/api.js'
import type { Membership } from '../membership/membership.js'
import { decodeJson, encodeJson } from '../membership/wire.js'
import { explain, moves, place, type PlacementExplanation, type PlacementMember, type PlacementResult } from '../placement/place.js'
import { parseServiceSpec, type ServiceSpec } from '../placement/spec.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../repo/constants.js'
import { ServiceCatalog } from './catalog.js'
import { CATALOG_SYNC_INTERVAL_MS, CATALOG_SYNC_PROTOCOL_SUFFIX, CATALOG_TOPIC_SUFFIX, MAX_CATALOG_MESSAGE_BYTES, MAX_CATALOG_SYNC_BYTES } from './constants.js'
import { newer, parseEntry, type CatalogEntry } from './entry.js'
import { ServiceNotFoundError } from './errors.js'

export interface RegistryInit {
  /** @default '/noodle' */
  protocolPrefix?: string
  /** bounded-load epsilon for placement */
  loadEpsilon?: number
  /** @default CATALOG_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
}

export interface RegistryComponents {
  peerId: PeerId
  datastore: Datastore
  pubsub: GossipSub
  membership: Membership
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface ServiceStatus {
  name: string
  replicas: number
  spec: ServiceSpec
  /** owners computed from this node's membership view, closest first */
  owners: string[]
  instances: Array<{ peerId: string, healthy: boolean }>
}

export interface DeployResult {
  name: string
  owners: string[]
  /** replicas of all services that would change owner (or did) */
  moves: number
  dryRun: boolean
}

const gossipSchema = z.strictObject({ v: z.literal(1), entries: z.array(z.unknown()).min(1).max(100) })
/** name -> "version/author" of what the requester holds */
const syncRequestSchema = z.strictObject({ digest: z.record(z.string().max(63), z.string().max(200)) })
const syncResponseSchema = z.strictObject({ entries: z.array(z.unknown()).max(100_000) })

/**
 * The service registry: the replicated catalog of service specs (gossiped on
 * every write, pulled from a random neighbour for anti-entropy, persisted),
 * and the placement of each service over this node's membership view. Every
 * node holding the same catalog and view computes the same owners.
 */
export class Registry implements Startable {
  readonly catalog: ServiceCatalog
  readonly topic: string
  private readonly components: RegistryComponents
  private readonly init: RegistryInit
  private readonly log: Logger
  private readonly protocol: string
  private task?: RepeatingTask
  private controller?: AbortController
  private started = false
  readonly counters = { gossipRejected: 0, syncRejected: 0, pulls: 0 }

  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.receive(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    // a new or restarted node catches up from its first neighbour
    if (!this.caughtUp) void this.pull(evt.detail)
  }

  private caughtUp = false

  constructor (components: RegistryComponents, init: RegistryInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('noodled:registry')
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.topic = `${prefix}${CATALOG_TOPIC_SUFFIX}`.replace(/^\//, '')
    this.protocol = `${prefix}${CATALOG_SYNC_PROTOCOL_SUFFIX}`
    this.catalog = new ServiceCatalog({ datastore: components.datastore, self: components.peerId.toString() })
  }

  readonly [Symbol.toStringTag] = 'noodled/registry'

  async start (): Promise<void> {
    this.controller = new AbortController()
    setMaxListeners(Infinity, this.controller.signal)
    await this.catalog.load({ signal: this.controller.signal })
    await this.components.registrar.handle(this.protocol, (stream, connection) => { void this.serve(stream, connection) }, { maxInboundStreams: 4, maxOutboundStreams: 2 })
    this.started = true
  }

  afterStart (): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, (_peer, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
    this.components.membership.addEventListener('member', this.onMember)
    for (const conn of this.components.connectionManager.getConnections()) void this.pull(conn.remotePeer)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.task = repeatingTask(async () => { await this.antiEntropy() }, this.init.syncIntervalMs ?? CATALOG_SYNC_INTERVAL_MS)
    this.task.start()
  }

  async stop (): Promise<void> {
    this.started = false
    this.controller?.abort()
    this.task?.stop()
    const { pubsub } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(this.topic)
    try { pubsub.unsubscribe(this.topic) } catch {}
    this.components.membership.removeEventListener('member', this.onMember)
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
  }

  private readonly onMember = (evt: CustomEvent<{ type: string, peerId: string }>): void => {
    // a newcomer may have missed writes made before it subscribed
    if (evt.detail.type === 'join' && !this.caughtUp) void this.antiEntropy()
    if (evt.detail.type === 'recovered') this.recoveredAt.set(evt.detail.peerId, Date.now())
  }

  /**
   * When members came back from failed. Hysteresis applies to them only: a
   * member that flaps must stay up a while before replicas move to it. A
   * join is not a flap (and this node's own start would otherwise make every
   * member look new).
   */
  private readonly recoveredAt = new Map<string, number>()

  // ---- operations --------------------------------------------------------

  /** Declare or replace a service (or, with dryRun, only say what would happen). */
  async deploy (input: unknown, options: { dryRun?: boolean, signal?: AbortSignal } = {}): Promise<DeployResult> {
    const spec = parseServiceSpec(input)
    const before = this.placement()
    const specs = [...this.catalog.list().filter(s => s.name !== spec.name), spec]
    const after = place(specs, this.placementMembers(), this.placementOptions())
    const result: DeployResult = { name: spec.name, owners: after.services.get(spec.name)?.owners ?? [], moves: moves(before, after), dryRun: options.dryRun === true }
    if (options.dryRun === true) return result
    await this.publish(await this.catalog.put(spec, options))
    return result
  }

  async scale (name: string, replicas: number, options: { signal?: AbortSignal } = {}): Promise<DeployResult> {
    return this.deploy({ ...this.catalog.get(name), replicas }, options)
  }

  async remove (name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.publish(await this.catalog.remove(name, options))
  }

  list (): ServiceStatus[] {
    const placement = this.placement()
    return this.catalog.list().map(spec => this.statusOf(spec, placement))
  }

  status (name: string): ServiceStatus {
    return this.statusOf(this.catalog.get(name), this.placement())
  }

  explain (name: string): PlacementExplanation {
    if (!this.catalog.has(name)) throw new ServiceNotFoundError(`no service "${name}" in the catalog`)
    return explain(name, this.catalog.list(), this.placementMembers(), this.placementOptions())!
  }

  placement (): PlacementResult {
    return place(this.catalog.list(), this.placementMembers(), this.placementOptions())
  }

  private statusOf (spec: ServiceSpec, placement: PlacementResult): ServiceStatus {
    const owners = placement.services.get(spec.name)?.owners ?? []
    // until the runtime exists, an instance is the assignment on an owner that membership sees alive
    const alive = new Set(this.components.membership.members().filter(m => m.status === 'alive').map(m => m.peerId))
    return { name: spec.name, replicas: spec.replicas, spec, owners, instances: owners.map(peerId => ({ peerId, healthy: alive.has(peerId) })) }
  }

  private placementMembers (): PlacementMember[] {
    const now = Date.now()
    // only recent recoveries matter (settle time); forget the rest so the map stays small
    for (const [peer, at] of this.recoveredAt) if (now - at > 3_600_000) this.recoveredAt.delete(peer)
    return this.components.membership.members().map(m => ({
      peerId: m.peerId,
      status: m.status,
      statusForMs: this.recoveredAt.has(m.peerId) ? now - this.recoveredAt.get(m.peerId)! : Number.MAX_SAFE_INTEGER,
      resources: { cpus: m.resources.cpus, memTotal: m.resources.memTotal, slotsTotal: m.resources.slotsTotal },
      labels: m.labels,
      draining: m.labels[DRAIN_LABEL] === 'true'
    }))
  }

  private placementOptions (): { epsilon?: number } {
    return this.init.loadEpsilon != null ? { epsilon: this.init.loadEpsilon } : {}
  }

  // ---- replication -------------------------------------------------------

  private async publish (entry: CatalogEntry): Promise<void> {
    try {
      await this.components.pubsub.publish(this.topic, encodeJson({ v: 1, entries: [entry] }))
    } catch (err) {
      // anti-entropy carries it when gossip cannot (no topic peers yet)
      this.log.trace('catalog publish failed: %e', err)
    }
  }

  private validate (msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed' || msg.data.byteLength > MAX_CATALOG_MESSAGE_BYTES) return this.rejectGossip()
    try {
      const { entries } = decodeJson(gossipSchema, msg.data)
      // gossip carries a node's own writes: an entry claiming another author is forged
      if (entries.map(parseEntry).some(e => e.author !== msg.from.toString())) return this.rejectGossip()
      return TopicValidatorResult.Accept
    } catch {
      return this.rejectGossip()
    }
  }

  private rejectGossip (): TopicValidatorResult {
    this.counters.gossipRejected++
    return TopicValidatorResult.Reject
  }

  private async receive (msg: Message): Promise<void> {
    if (msg.topic !== this.topic) return
    try {
      const { entries } = decodeJson(gossipSchema, msg.data)
      await this.catalog.merge(entries, { signal: this.controller?.signal })
    } catch (err) {
      this.log.trace('bad catalog gossip: %e', err)
    }
  }

  private async antiEntropy (): Promise<void> {
    const peers = this.components.connectionManager.getConnections().map(c => c.remotePeer)
    const peer = peers[Math.floor(Math.random() * peers.length)]
    if (peer != null) await this.pull(peer)
  }

  /** Ask a neighbour for every entry newer than ours (by digest), and merge them. */
  async pull (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = AbortSignal.any([this.controller?.signal ?? new AbortController().signal, options.signal ?? AbortSignal.timeout(10_000)])
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_CATALOG_SYNC_BYTES })
      await lp.write(encodeJson({ digest: Object.fromEntries(this.catalog.all().map(e => [e.name, `${e.version}/${e.author}`])) }), { signal })
      const { entries } = decodeJson(syncResponseSchema, (await lp.read({ signal })).subarray())
      await stream.close({ signal })
      const { applied, rejected } = await this.catalog.merge(entries, { signal })
      this.counters.pulls++
      this.counters.syncRejected += rejected
      this.caughtUp = true
      return applied.length
    } catch (err: any) {
      stream?.abort(err)
      this.log.trace('catalog pull from %p failed: %e', peer, err)
      return 0
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(10_000)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_CATALOG_MESSAGE_BYTES })
      let digest: Record<string, string>
      try {
        digest = decodeJson(syncRequestSchema, (await lp.read({ signal })).subarray()).digest
      } catch (err) {
        this.counters.syncRejected++
        throw err
      }
      // what the requester lacks or holds an older version of
      const entries = this.catalog.all().filter(e => {
        const held = digest[e.name]
        if (held == null) return true
        const slash = held.indexOf('/')
        return newer(e, { ...e, version: Number(held.slice(0, slash)), author: held.slice(slash + 1) })
      })
      await lp.write(encodeJson({ entries }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.log.trace('catalog sync with %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }

  isStarted (): boolean {
    return this.started
  }
}
