import { availableParallelism, loadavg } from 'node:os'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { TypedEventEmitter, type ComponentLogger, type CounterGroup, type Libp2pEvents, type Logger, type Metrics, type PeerId, type PeerStore, type PrivateKey, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { Key, type Datastore } from 'interface-datastore'
import type { MemberEventView, MembershipStats, MemberView } from '../interface/api.js'
import { InvalidLabelError, MemberFailedError, MemberNotFoundError } from './errors.js'
import { ADDRS_REFRESH_MS, ANNOUNCE_REACHED_MS, EVENT_HISTORY, IDLE_TICK_MS, MAX_TOPIC_MESSAGE_BYTES, LEAVE_WAIT_MS, CONNECT_BUDGET_FACTOR, JOIN_GRACE_MS, RECONNECT_AT_ONCE, SYNC_TIMEOUT_MS, SYNC_TIMEOUT_MAX_MS, MAX_ADVERT_ADDRS, MAX_ADVERT_BYTES, MAX_SERVICES, PROBE_PROTOCOL_SUFFIX, SUSPICION_CONFIRMATIONS, SYNC_PROTOCOL_SUFFIX, TOPIC_SUFFIX } from './constants.js'
import { LocalHealth } from './local-health.js'
import { MemberTable, type Member, type MemberEvent, type SyncEntry } from './member-table.js'
import type { SyncSnapshot } from './sync.js'
import { TIMING_PRESETS, type TimingPreset, type TimingPresetName } from './presets.js'
import { isRefusal, Prober } from './probe.js'
import { Topology } from './topology.js'
import { ringNeighbours } from './ring.js'
import { MemberSync } from './sync.js'
import { ResourceSampler } from './resources.js'
import { openSignedAdvert, OversizedAdvertError, signAdvert, type SignedAdvert } from './relay.js'
import { ForgedAdvertError } from '../interface/errors.js'
import { suspicionTimeout } from './suspicion.js'
import { Ticker } from './ticker.js'
import { decodeMessage, encodeMessage, type Advert, type Relay, type FailedClaim, type Resources, type SuspectClaim, type TopicMessage } from './wire.js'
import { lifetimeController, timeoutSignal } from '../signals.js'
import { randomSample } from '../random-sample.js'
import { DEFAULT_PROTOCOL_PREFIX, LABEL_KEY, MAX_LABELS, MAX_LABEL_VALUE } from '../constants.js'

export interface MembershipInit extends Partial<TimingPreset> {
  /** @default 'lan' */
  timing?: TimingPresetName
  /** labels from config; runtime `label set/rm` are layered over them and persisted */
  labels?: Record<string, string>
  /** @default '/noodle' */
  protocolPrefix?: string
  /** directory whose free disk space is advertised */
  repoPath?: string
  /** worker slots advertised; @default availableParallelism() */
  workerSlots?: number
  /** connections kept to random members besides the ring neighbours. @default 5 */
  targetPeers?: number
  /** ring successors each member probes; every member then has this many monitors. @default 3 */
  monitors?: number
  /** idle outbound connections outside the view are closed after this long (tests shorten it). @default 30 s */
  trimIdleAfterMs?: number
  /** software version put in adverts */
  version?: string
}

export interface MembershipComponents {
  peerId: PeerId
  addressManager: AddressManager
  connectionManager: ConnectionManager
  registrar: Registrar
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  datastore: Datastore
  metrics?: Metrics
  pubsub: GossipSub
  privateKey: PrivateKey
}

export interface MembershipEvents {
  member: CustomEvent<MemberEventView>
}

const INCARNATION_KEY = new Key('/noodle/membership/incarnation')
const LABELS_KEY = new Key('/noodle/membership/labels')

/** Persisted runtime label changes, layered over the config's labels. */
interface LabelOverlay { set: Record<string, string>, removed: string[] }

const REJECT_REASONS = ['oversized', 'malformed', 'unsigned', 'impersonation', 'replay'] as const
type RejectReason = typeof REJECT_REASONS[number]

/** Why a relayed or pushed advert failed openSignedAdvert, as counted. */
function signedAdvertRejection (err: unknown): RejectReason {
  return err instanceof OversizedAdvertError ? 'oversized' : err instanceof ForgedAdvertError ? 'impersonation' : 'malformed'
}

/**
 * Gossip membership with SWIM-style failure detection and Lifeguard's
 * refinements. Every member publishes a signed advert each interval; silence
 * leads to a direct probe, then indirect probes through k others, then a
 * suspicion gossiped to all; the suspect refutes by raising its incarnation;
 * unrefuted suspicion becomes failure. See presets.ts for the timing budget.
 */
export class Membership extends TypedEventEmitter<MembershipEvents> implements Startable {
  readonly topic: string
  readonly timing: TimingPreset
  private readonly components: MembershipComponents
  private readonly init: MembershipInit
  private readonly log: Logger
  private readonly table: MemberTable
  private readonly health: LocalHealth
  private readonly sampler: ResourceSampler
  private readonly prober: Prober
  private readonly sync: MemberSync
  private readonly topology: Topology
  /** neighbours a member list was pulled from; a newcomer pulls from its first two */
  private synced = 0
  private syncedOk = false
  private readonly self: string
  private readonly probing = new Set<string>()
  /**
   * Addresses last written to the peer store, per member: each write is a
   * level put, so an unchanged advert does not write again, except every
   * ADDRS_REFRESH_MS so the peer store does not age the addresses out.
   */
  private readonly storedAddrs = new Map<string, { key: string, at: number }>()
  /** messages decoded by the topic validator, so delivery does not parse them again */
  private readonly decoded = new WeakMap<Uint8Array, TopicMessage>()
  private readonly history: MemberEventView[] = []
  private readonly rejectedCounts: Record<RejectReason, number> = { oversized: 0, malformed: 0, unsigned: 0, impersonation: 0, replay: 0 }
  private rejectedMetric?: CounterGroup<RejectReason>
  private readonly counters = { advertsSent: 0, advertsReceived: 0, claimsSent: 0, claimsReceived: 0, bytesSent: 0, bytesReceived: 0, probes: 0, probesFailed: 0, indirectProbes: 0, claimsIgnored: 0, missedNacks: 0, lastChanceAlive: 0, advertsRelayed: 0 }
  private incarnation = 0
  private seq = 0
  private overlay: LabelOverlay = { set: {}, removed: [] }
  private resources?: Resources
  private tasks: RepeatingTask[] = []
  /**
   * Timers (silence, suspicions, reaping): every tickMs while a suspicion is
   * pending, else as seldom as silence needs (a quarter of missAfterMs, at
   * most IDLE_TICK_MS); a new suspicion hurries it (emitMember).
   */
  private readonly ticker: Ticker
  private advertTimer?: ReturnType<typeof setTimeout>
  private advertRunning = false
  private started = false
  private leaving = false
  private controller?: AbortController

  private readonly onMessage = (evt: CustomEvent<Message>): void => { this.receive(evt.detail) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.connectionLost(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { void this.pullMembers(evt.detail) }
  /**
   * A new node's first advert goes out before it has topic peers; send one
   * more as soon as the first subscriber shows up. (Re-advertising on every
   * subscription change cost ~1 advert/s per node in a 20-node mesh.)
   */
  private readonly onSubscriptionChange = (): void => {
    if (this.announced || this.components.pubsub.getSubscribers(this.topic).length === 0) return
    this.announced = true
    // at once, not through the advert timer: in a 50-daemon start on 2 cores a
    // 50 ms timer fired 0.4-1.1 s late on a newcomer busy with its member pull,
    // and every other member learns of the newcomer only from this advert
    void this.advertNow()
  }

  /**
   * That advert can still be lost: the subscriber is known before gossipsub
   * has a stream to it. The first graft into the topic's mesh is the moment
   * a publish surely reaches the mesh, so advertise again then (unless the
   * advert just sent reached someone); otherwise the others would learn of a
   * newcomer only at its next periodic advert, which in a large mesh is
   * N / maxAdvertRate seconds away.
   */
  private readonly onGraft = (evt: CustomEvent<{ topic: string }>): void => {
    if (this.grafted || evt.detail.topic !== this.topic) return
    this.grafted = true
    if (Date.now() - this.lastAdvertReachedAt > ANNOUNCE_REACHED_MS) void this.advertNow()
    // members that started alongside this one advertised before it could hear them
    this.antiEntropy()
  }

  /** when the last advert left for at least one topic peer */
  private lastAdvertReachedAt = 0
  private announced = false
  private grafted = false

  constructor (components: MembershipComponents, init: MembershipInit = {}) {
    super()
    this.components = components
    this.init = init
    this.self = components.peerId.toString()
    this.log = components.logger.forComponent('noodled:membership')
    const preset = TIMING_PRESETS[init.timing ?? 'lan']
    // every preset field can be overridden one by one from config
    const timing: TimingPreset = { ...preset }
    for (const key of Object.keys(preset) as Array<keyof TimingPreset>) {
      const value = init[key]
      if (value != null) timing[key] = value
    }
    this.timing = timing
    this.health = new LocalHealth({ lagPerPointMs: this.timing.lagPerHealthPointMs, loadPerPoint: this.timing.loadPerHealthPoint, max: this.timing.maxLocalHealth })
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.topology = new Topology(components, {
      self: this.self,
      monitors: init.monitors ?? 3,
      randomPeers: init.targetPeers ?? 5,
      probeProtocol: `${prefix}${PROBE_PROTOCOL_SUFFIX}`,
      dialTimeoutMs: this.timing.upkeepIntervalMs,
      ...(init.trimIdleAfterMs != null ? { trimIdleAfterMs: init.trimIdleAfterMs } : {}),
      log: this.log
    })
    this.topic = `${prefix}${TOPIC_SUFFIX}`.replace(/^\//, '')
    this.table = new MemberTable(this.self)
    this.sampler = new ResourceSampler({ diskPath: init.repoPath, slotsTotal: init.workerSlots })
    this.prober = new Prober(components, {
      protocol: `${prefix}${PROBE_PROTOCOL_SUFFIX}`,
      log: this.log,
      incarnation: () => this.incarnation,
      handlerTimeoutMs: this.timing.probeTimeoutMs + this.timing.indirectTimeoutMs * 2,
      onMalformed: () => { this.reject('malformed') },
      onLeave: (peer, incarnation, seq) => {
        const event = this.table.applyLeave(peer, incarnation, seq, Date.now())
        if (event != null) this.emitMember(event)
      }
    })
    this.sync = new MemberSync(components, {
      protocol: `${prefix}${SYNC_PROTOCOL_SUFFIX}`,
      log: this.log,
      snapshot: () => this.snapshot(),
      // never waits for the first advert: an answer without it is still a member list
      signedSelf: async () => this.lastAdvert != null ? this.signedSelf() : undefined,
      onPush: (from, signed) => { void this.pushReceived(from, signed) },
      // the refuting advert is built before the answer, which carries it (see reconnect)
      onHeldDown: async (from, held) => {
        if (this.refute(from.toString(), held.status, held.incarnation)) await this.advertNow()
      },
      // as long as the asking side waits (see pullMembers): under `local` timing
      // 4 probe timeouts were 2 s, and at N = 100 on 2 cores a loaded member
      // could not write its list within that, so a newcomer's pulls all failed
      timeoutMs: () => this.syncTimeoutMs(),
      onMalformed: () => { this.reject('malformed') }
    })
    this.ticker = new Ticker({
      fn: () => { this.tick() },
      fastMs: this.timing.tickMs,
      idleMs: () => Math.min(IDLE_TICK_MS, Math.floor(this.missAfterMs() / 4)),
      busy: () => this.table.hasSuspects(),
      onError: (err) => { this.log.error('membership tick failed: %e', err) }
    })
    this.rejectedMetric = components.metrics?.registerCounterGroup('noodled_membership_messages_rejected_total', {
      label: 'reason',
      help: 'Membership messages rejected by the topic validator or probe handler, by reason'
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/membership'

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = lifetimeController()
    // a restart must outrank every advert and claim about the previous run
    this.incarnation = (await this.readJson<number>(INCARNATION_KEY) ?? -1) + 1
    await this.persistIncarnation()
    this.overlay = await this.readJson<LabelOverlay>(LABELS_KEY) ?? { set: {}, removed: [] }
    this.sampler.start()
    await this.prober.start()
    await this.sync.start()
    this.advertReady = new Promise(resolve => { this.advertReadyResolve = resolve })
    this.started = true
  }

  afterStart (): void {
    const { pubsub, events } = this.components
    pubsub.topicValidators.set(this.topic, (_peer, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.addEventListener('gossipsub:graft', this.onGraft)
    pubsub.subscribe(this.topic)
    events.addEventListener('peer:disconnect', this.onDisconnect)
    events.addEventListener('peer:connect', this.onConnect)
    for (const conn of this.components.connectionManager.getConnections()) void this.pullMembers(conn.remotePeer)

    const t = this.timing
    this.requestAdvert()
    this.tasks = [
      repeatingTask(() => { this.probeNext() }, t.probeIntervalMs),
      repeatingTask(async () => { await this.upkeep() }, t.upkeepIntervalMs, { runImmediately: true }),
      repeatingTask(() => { this.antiEntropy() }, t.syncIntervalMs)
    ]
    this.tasks.forEach(task => { task.start() })
    this.ticker.start()
  }

  /**
   * Graceful leave: announce `left` (bounded wait) before the node stops,
   * gossiped and said directly to every connected member. Gossip alone
   * reached nobody when the topic's mesh had not formed yet (publish goes to
   * mesh peers only), and the others then judged the node failed.
   */
  async beforeStop (): Promise<void> {
    if (!this.started) return
    this.leaving = true
    // the seq the `left` advert will carry, so adverts sent before it are stale wherever the direct word lands first
    const seq = this.seq + 1
    const signal = timeoutSignal(LEAVE_WAIT_MS)
    const direct = this.components.connectionManager.getConnections()
      .map(c => c.remotePeer)
      .filter((p, i, all) => all.findIndex(q => q.equals(p)) === i && this.table.get(p.toString()) != null)
      .map(async p => { await this.prober.leave(p, this.incarnation, seq, { signal }).catch(() => {}) })
    try {
      await Promise.race([
        Promise.all([this.publishAdvert('left'), ...direct]),
        new Promise(resolve => setTimeout(resolve, LEAVE_WAIT_MS).unref())
      ])
    } catch (err) {
      this.log('could not announce leave: %e', err)
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.advertReadyResolve?.()
    this.controller?.abort()
    clearTimeout(this.advertTimer)
    this.tasks.forEach(task => { task.stop() })
    this.tasks = []
    this.ticker.stop()
    const { pubsub, events } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.removeEventListener('gossipsub:graft', this.onGraft)
    events.removeEventListener('peer:disconnect', this.onDisconnect)
    events.removeEventListener('peer:connect', this.onConnect)
    pubsub.topicValidators.delete(this.topic)
    try { pubsub.unsubscribe(this.topic) } catch {}
    this.sampler.stop()
    await this.prober.stop()
    await this.sync.stop()
  }

  // ---- queries -----------------------------------------------------------

  labels (): Record<string, string> {
    const labels: Record<string, string> = {}
    for (const [k, v] of Object.entries(this.init.labels ?? {})) {
      if (!this.overlay.removed.includes(k)) labels[k] = v
    }
    return { ...labels, ...this.overlay.set }
  }

  members (): MemberView[] {
    const now = Date.now()
    const rows = this.table.all().map(m => this.view(m, now))
    return [this.selfView(), ...rows.sort((a, b) => a.peerId.localeCompare(b.peerId))]
  }

  member (peerId: string): MemberView {
    if (peerId === this.self) return this.selfView()
    const m = this.table.get(peerId)
    if (m == null) throw new MemberNotFoundError(`no member ${peerId} in this node's view`)
    return this.view(m, Date.now())
  }

  /** Recent member events, oldest first. */
  recentEvents (): MemberEventView[] {
    return [...this.history]
  }

  stats (): MembershipStats {
    return {
      members: this.table.size + 1,
      alive: this.table.all().filter(m => m.status === 'alive').length + 1,
      incarnation: this.incarnation,
      localHealth: this.health.score,
      localHealthParts: this.health.parts,
      ...this.counters,
      rejected: { ...this.rejectedCounts },
      view: {
        successors: [...this.topology.successors],
        predecessors: [...this.topology.predecessors],
        random: this.topology.randomView(),
        connections: this.components.connectionManager.getConnections().length
      }
    }
  }

  get currentIncarnation (): number {
    return this.incarnation
  }

  // ---- labels ------------------------------------------------------------

  async setLabel (key: string, value: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
    if (!LABEL_KEY.test(key)) throw new InvalidLabelError(`invalid label key ${JSON.stringify(key)}: letters, digits and . _ / - (max 63, starting with a letter or digit)`)
    if (value.length > MAX_LABEL_VALUE) throw new InvalidLabelError(`label value longer than ${MAX_LABEL_VALUE} characters`)
    if (!(key in this.labels()) && Object.keys(this.labels()).length >= MAX_LABELS) throw new InvalidLabelError(`at most ${MAX_LABELS} labels`)
    this.overlay = { set: { ...this.overlay.set, [key]: value }, removed: this.overlay.removed.filter(k => k !== key) }
    await this.components.datastore.put(LABELS_KEY, new TextEncoder().encode(JSON.stringify(this.overlay)), options)
    this.requestAdvert()
    this.selfUpdated()
    return this.labels()
  }

  async removeLabel (key: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
    if (!(key in this.labels())) throw new InvalidLabelError(`no label ${JSON.stringify(key)} on this node`)
    const set = { ...this.overlay.set }
    delete set[key]
    const removed = key in (this.init.labels ?? {}) ? [...new Set([...this.overlay.removed, key])] : this.overlay.removed
    this.overlay = { set, removed }
    await this.components.datastore.put(LABELS_KEY, new TextEncoder().encode(JSON.stringify(this.overlay)), options)
    this.requestAdvert()
    this.selfUpdated()
    return this.labels()
  }

  /** This node's own labels changed: an update event for itself, as for any member (placement reads it). */
  private selfUpdated (): void {
    this.emitMember({ type: 'update', peerId: this.self, status: this.leaving ? 'left' : 'alive', incarnation: this.incarnation, at: Date.now() })
  }

  // ---- services ----------------------------------------------------------

  /**
   * The services this node hosts (replicas it owns, healthy external
   * instances), announced in its adverts; a change is advertised at once.
   * Adverts carry the first MAX_SERVICES names given (sorted); the rest are
   * found through placement and the DHT's provider records.
   */
  setServices (names: string[]): void {
    const next = [...new Set(names)].slice(0, MAX_SERVICES).sort()
    if (next.length === this.services.length && next.every((n, i) => n === this.services[i])) return
    this.services = next
    this.requestAdvert()
  }

  /**
   * Worker slots this node's runtime has taken (the instances its module
   * services may run); advertised with the next advert, and at once when
   * it changes.
   */
  setSlotsUsed (n: number): void {
    if (this.sampler.slotsUsed === n) return
    this.sampler.slotsUsed = n
    if (this.resources != null) this.resources = { ...this.resources, slotsUsed: n }
    this.requestAdvert()
  }

  /** Worker slots this node offers. */
  get slotsTotal (): number {
    return this.sampler.slotsTotal
  }

  get hostedServices (): string[] {
    return this.services
  }

  private services: string[] = []

  // ---- gossip ------------------------------------------------------------

  /** The advert interval for the current mesh size (see TimingPreset.maxAdvertRate). */
  advertIntervalMs (): number {
    const n = this.table.liveCount()
    return Math.max(this.timing.advertIntervalMs, Math.ceil((n / this.timing.maxAdvertRate) * 1000))
  }

  /** Silence that triggers a probe: never shorter than 2.5 advert intervals. */
  private missAfterMs (): number {
    return Math.max(this.timing.missAfterMs, Math.round(this.advertIntervalMs() * 2.5))
  }

  /**
   * Advert scheduling: one chain of timers whose period follows the mesh size
   * (a repeating task's interval cannot be changed from inside its own run
   * without starting a second chain). A request publishes within 50 ms.
   */
  private requestAdvert (delayMs = 50): void {
    clearTimeout(this.advertTimer)
    this.advertTimer = setTimeout(() => { void this.advertNow() }, delayMs)
  }

  private async advertNow (): Promise<void> {
    if (!this.started) return
    if (this.advertRunning) {
      this.requestAdvert()
      return
    }
    this.advertRunning = true
    try {
      await this.publishAdvert()
    } finally {
      this.advertRunning = false
      if (this.started) this.requestAdvert(this.advertIntervalMs())
    }
  }

  private async publishAdvert (status: Advert['status'] = this.leaving ? 'left' : 'alive'): Promise<void> {
    if (!this.started) return
    this.resources = await this.sampler.sample()
    this.health.observeLag(this.resources.loopLagMs)
    const advert: Advert = {
      v: 1,
      type: 'advert',
      peerId: this.self,
      seq: ++this.seq,
      incarnation: this.incarnation,
      status,
      addrs: this.ownAddrs(),
      resources: this.resources,
      labels: this.labels(),
      services: this.services,
      version: this.init.version ?? '0.0.0'
    }
    const data = encodeMessage(advert)
    this.lastAdvert = { bytes: data }
    this.advertReadyResolve?.()
    if (await this.publishBytes(data) > 0) this.lastAdvertReachedAt = Date.now()
    this.counters.advertsSent++
  }

  /** Publish on the membership topic; resolves with the number of topic peers it was sent to. */
  private async publish (msg: TopicMessage): Promise<number> {
    return this.publishBytes(encodeMessage(msg))
  }

  private async publishBytes (data: Uint8Array): Promise<number> {
    this.counters.bytesSent += data.length
    try {
      return (await this.components.pubsub.publish(this.topic, data)).recipients.length
    } catch (err: any) {
      this.log.trace('publish failed: %e', err)
      return 0
    }
  }

  private ownAddrs (): string[] {
    return this.components.addressManager.getAddresses().slice(0, MAX_ADVERT_ADDRS).map(a => a.toString())
  }

  private reject (reason: RejectReason): TopicValidatorResult {
    this.rejectedCounts[reason]++
    this.rejectedMetric?.increment({ [reason]: true })
    return reason === 'replay' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  }

  /**
   * Gossipsub topic validator: runs before a message is delivered or
   * forwarded. Rejected messages also cost the forwarding peer score.
   */
  private validate (msg: Message): TopicValidatorResult | Promise<TopicValidatorResult> {
    if (msg.data.length > MAX_TOPIC_MESSAGE_BYTES) return this.reject('oversized')
    if (msg.type !== 'signed') return this.reject('unsigned')
    let decoded: TopicMessage
    try {
      decoded = decodeMessage(msg.data)
    } catch {
      return this.reject('malformed')
    }
    this.decoded.set(msg.data, decoded)
    if (decoded.type === 'advert') {
      if (msg.data.length > MAX_ADVERT_BYTES) return this.reject('oversized')
      if (decoded.peerId !== msg.from.toString()) return this.reject('impersonation')
      if (this.table.isStale(decoded)) return this.reject('replay')
    }
    if (decoded.type === 'relay') return this.validateRelay(msg.data, decoded)
    return TopicValidatorResult.Accept
  }

  /** A relayed advert must be signed by its member, and newer than what this node holds. */
  private async validateRelay (data: Uint8Array, relay: Relay): Promise<TopicValidatorResult> {
    let advert: Advert
    try {
      advert = await openSignedAdvert(relay)
    } catch (err) {
      return this.reject(signedAdvertRejection(err))
    }
    if (advert.peerId === this.self || this.table.isStale(advert)) return this.reject('replay')
    this.relayed.set(data, advert)
    return TopicValidatorResult.Accept
  }

  /** relay messages this node's validator opened, by message bytes */
  private readonly relayed = new WeakMap<Uint8Array, Advert>()

  /**
   * A neighbour pushed its own advert with a member-list pull, or answered
   * this node's pull with it: taken like one gossiped, and passed on to the mesh when it tells this node of a
   * member it did not know (a newcomer) or held suspect or failed, because
   * the member's own gossip may not reach anyone for a while (gossipsub
   * needs identify, a stream and a graft first: 1-3 s per newcomer in a
   * 50-daemon start on 2 cores).
   */
  private async pushReceived (from: PeerId, signed: SignedAdvert): Promise<void> {
    let advert: Advert
    try {
      advert = await openSignedAdvert(signed)
    } catch (err) {
      this.reject(signedAdvertRejection(err))
      this.log.trace('bad advert pushed by %p: %e', from, err)
      return
    }
    // a member pushes only itself
    if (advert.peerId !== from.toString()) {
      this.reject('impersonation')
      return
    }
    const event = this.applyAdvert(advert)
    if (event?.type === 'join' || event?.type === 'recovered') {
      this.counters.advertsRelayed++
      await this.publish({ v: 1, type: 'relay', ...signed })
    }
  }

  /** This node's latest advert, signed for a push (signed once per advert). */
  private async signedSelf (): Promise<SignedAdvert | undefined> {
    // a pull on the first connection may start before the first advert is built
    if (this.lastAdvert == null) await this.advertReady
    const last = this.lastAdvert
    if (last == null) return undefined
    last.signed ??= signAdvert(this.components.privateKey, last.bytes)
    return last.signed.catch(() => undefined)
  }

  private lastAdvert?: { bytes: Uint8Array, signed?: Promise<SignedAdvert> }
  /** resolves once the first advert of this run is built (or the node stops) */
  private advertReady: Promise<void> = Promise.resolve()
  private advertReadyResolve?: () => void

  private receive (msg: Message): void {
    if (msg.topic !== this.topic || msg.type !== 'signed') return
    let decoded = this.decoded.get(msg.data)
    if (decoded == null) {
      try {
        decoded = decodeMessage(msg.data)
      } catch {
        return
      }
    }
    this.counters.bytesReceived += msg.data.length
    const from = msg.from.toString()
    if (decoded.type === 'advert') {
      this.counters.advertsReceived++
      if (decoded.peerId !== from) return
      this.applyAdvert(decoded)
    } else if (decoded.type === 'relay') {
      // only what this node's validator opened and checked
      const advert = this.relayed.get(msg.data)
      if (advert == null) return
      this.counters.advertsReceived++
      this.applyAdvert(advert)
    } else {
      this.counters.claimsReceived++
      this.claimReceived(from, decoded)
    }
  }

  /** A member's own advert (gossiped, relayed or pushed), checked by the caller. */
  private applyAdvert (advert: Advert): MemberEvent | undefined {
    const event = this.table.applyAdvert(advert, Date.now())
    if (event != null) {
      // recovered too: a member restarted after a crash comes back at new addresses
      if (event.type !== 'left') void this.rememberAddrs(advert, true)
      this.emitMember(event)
    }
    return event
  }


  /**
   * Someone holds this node suspect or failed: a higher incarnation outranks
   * every claim about the old one. True when it raised the incarnation (the
   * caller sends the advert that carries it).
   */
  private refute (from: string, type: 'suspect' | 'failed', incarnation: number): boolean {
    if (incarnation < this.incarnation) return false
    this.incarnation = incarnation + 1
    this.health.refuted()
    this.log('refuting %s claim from %s with incarnation %d', type, from, this.incarnation)
    void this.persistIncarnation()
    return true
  }

  private claimReceived (from: string, claim: SuspectClaim | FailedClaim): void {
    if (claim.target === this.self) {
      if (this.refute(from, claim.type, claim.incarnation)) this.requestAdvert()
      return
    }
    if (claim.type === 'failed' && this.refutedSince(claim.target, claim.incarnation)) {
      // we hold the member's own advert, newer than a suspicion of this incarnation
      // (that is why it recovered here); the claimant has not seen it yet and will
      // recover the member itself when it does: passing its verdict on would fail a
      // live member everywhere
      this.counters.claimsIgnored++
      this.log('ignoring failed claim about %s from %s: it advertised since it was suspected', claim.target, from)
      return
    }
    const event = claim.type === 'suspect'
      ? this.table.suspect(claim.target, from, claim.incarnation, Date.now())
      : this.table.fail(claim.target, claim.incarnation, Date.now())
    // a refused dial is evidence for everyone, not only for the member that dialled
    if (claim.type === 'suspect' && claim.refused === true) this.table.markRefused(claim.target)
    if (event != null) this.emitMember({ ...event, by: from, reason: 'claim' })
  }

  /** Lifeguard's suspicion timeout with this node's timing. */
  private suspicionTimeout (members: number, confirmations: number, multiplier: number): number {
    return suspicionTimeout({ members, confirmations, minMs: this.timing.suspicionMinMs, maxFactor: this.timing.suspicionMaxFactor, multiplier })
  }

  /**
   * True when `peerId` is alive at `incarnation` and came back from suspect
   * or failed through its own advert within the longest suspicion timeout:
   * a verdict about that incarnation reaching us now most likely rests on
   * the suspicion that advert answered.
   */
  private refutedSince (peerId: string, incarnation: number): boolean {
    const m = this.table.get(peerId)
    if (m?.status !== 'alive' || m.incarnation !== incarnation || m.recoveredAt == null) return false
    return Date.now() - m.recoveredAt < this.suspicionTimeout(this.table.liveCount(), 0, this.health.multiplier)
  }

  /**
   * Store a member's addresses in the peer store, where dials find them.
   * `own`: they come from the member's own advert, so when they changed they
   * replace what was stored: the addresses of a run before a restart refuse
   * every dial, and a probe that reaches only those suspects a live member.
   * A list passed on by a neighbour only adds.
   */
  private async rememberAddrs (advert: Pick<Advert, 'peerId' | 'addrs'>, own = false): Promise<void> {
    const key = advert.addrs.join(' ')
    const now = Date.now()
    const stored = this.storedAddrs.get(advert.peerId)
    if (stored?.key === key && now - stored.at < ADDRS_REFRESH_MS) return
    this.storedAddrs.set(advert.peerId, { key, at: now })
    const replace = own && stored?.key !== key && advert.addrs.length > 0
    try {
      const peer = peerIdFromString(advert.peerId)
      const update = { multiaddrs: advert.addrs.map(a => multiaddr(a)) }
      const options = { signal: this.controller?.signal }
      if (replace) await this.components.peerStore.patch(peer, update, options)
      else await this.components.peerStore.merge(peer, update, options)
    } catch (err) {
      this.storedAddrs.delete(advert.peerId)
      this.log.trace('could not store addresses of %s: %e', advert.peerId, err)
    }
  }

  /**
   * Alive and suspect members (self included) as sent to a newcomer, and the
   * members this node holds suspect or failed. A suspect member is still a
   * member: a newcomer that was not told of it waited for its next advert
   * (in a 50-daemon start, busy members are often suspected for a moment).
   * The newcomer takes it as alive and leaves the suspicion to the member's
   * monitors (see pullMembers).
   */
  private snapshot (): SyncSnapshot {
    const self = this.selfView()
    const entry = (m: { peerId: string, incarnation: number, addrs: string[], resources: Resources, labels: Record<string, string>, services: string[], version: string }): SyncEntry =>
      ({ peerId: m.peerId, incarnation: m.incarnation, addrs: m.addrs, resources: m.resources, labels: m.labels, services: m.services, version: m.version })
    const all = this.table.all()
    return {
      members: [entry(self), ...all.filter(m => m.status === 'alive' || m.status === 'suspect').map(entry)],
      down: all.filter((m): m is Member & { status: 'suspect' | 'failed' } => m.status === 'suspect' || m.status === 'failed')
        .map(m => ({ peerId: m.peerId, incarnation: m.incarnation, status: m.status }))
    }
  }

  /** a member-list pull's time, both sides, stretched by local health like probes */
  private syncTimeoutMs (): number {
    return Math.min(SYNC_TIMEOUT_MAX_MS, SYNC_TIMEOUT_MS * this.health.multiplier)
  }

  /**
   * Pull a neighbour's member list, from the first two peers that connect
   * (a failed pull frees its turn for the next connection, and upkeep retries
   * until one has succeeded: a newcomer on a busy host can see its first
   * pulls time out, and then would wait for every member's next advert).
   * `again` pulls regardless: anti-entropy (see antiEntropy).
   */
  private async pullMembers (peer: PeerId, again = false): Promise<void> {
    const signal = this.controller?.signal
    if (signal == null || signal.aborted || (!again && this.synced >= 2)) return
    if (!again) this.synced++
    try {
      const push = await this.signedSelf()
      const held = this.table.get(peer.toString())
      const you = held?.status === 'suspect' || held?.status === 'failed' ? { status: held.status, incarnation: held.incarnation } : undefined
      // stretched by local health like probes: at N = 100 on 2 cores a newcomer
      // had no pull succeed in 4 minutes, and learnt members from adverts alone
      const { members, down, self } = await this.sync.pull(peer, { signal: AbortSignal.any([signal, timeoutSignal(this.syncTimeoutMs())]), ...(push != null ? { push } : {}), ...(you != null ? { you } : {}) })
      this.syncedOk = true
      // the neighbour's own advert, signed: it verifies the neighbour here at once, and
      // revives it (and passes it on) when this node held it failed (see reconnect)
      if (self != null) await this.pushReceived(peer, self)
      const now = Date.now()
      const learnt = new Set<string>()
      for (const e of members) {
        const event = this.table.applySync(e, now)
        if (event != null) {
          learnt.add(e.peerId)
          void this.rememberAddrs({ peerId: e.peerId, addrs: e.addrs })
          this.emitMember(event)
        }
      }
      // memberlist's mergeState: a member the neighbour holds suspect or failed is
      // suspected here (never failed outright), so this node's own suspicion timer,
      // probes and the member's refutation decide; a node that missed the claims
      // of a failure learns of it at its next pull instead of never. Not a member
      // this very list first told it of: a newcomer would judge a member it never
      // heard from, on a neighbour's word, while it is busiest (its own start), and
      // a verdict of it would fail a live member everywhere; the member's monitors judge it
      const from = peer.toString()
      let refuted = false
      for (const d of down) {
        if (learnt.has(d.peerId)) continue
        if (d.peerId === this.self) {
          // refuted like a claim: a higher incarnation outranks it everywhere
          refuted = this.refute(from, d.status, d.incarnation)
          continue
        }
        const event = this.table.suspect(d.peerId, from, d.incarnation, now)
        if (event != null) this.emitMember({ ...event, by: from, reason: 'claim' })
      }
      if (refuted) {
        // the neighbour holds this node down: push it the refuting advert at once, which
        // it takes as a recovery and relays to its side (after a partition, the other
        // side, where this node's own gossip does not reach). Not again: its next
        // answer names at most the incarnation this one outranks
        await this.advertNow()
        void this.pullMembers(peer, true)
      }
    } catch (err) {
      // a neighbour that cannot answer (older version, busy) is not fatal: adverts will come;
      // at debug, not trace: a newcomer whose pulls all fail waits a whole advert interval per member
      if (!again) this.synced--
      this.log('member sync from %p failed: %e', peer, err)
    }
  }

  /**
   * Anti-entropy, as memberlist's push-pull: pull the member list of a random
   * connected member now and then, so a member whose adverts this node missed
   * (it was itself starting, or gossipsub had not meshed it yet) is listed
   * within syncIntervalMs instead of at that member's next advert (N / 2 s).
   * Only unknown members are taken from it; each stays unverified until its
   * own signed advert arrives.
   */
  private antiEntropy (): void {
    const peers = this.components.connectionManager.getConnections()
      .map(c => c.remotePeer)
      .filter(p => this.table.get(p.toString())?.status === 'alive')
    const peer = peers[Math.floor(Math.random() * peers.length)]
    if (peer != null) void this.pullMembers(peer, true)
  }

  // ---- failure detection -------------------------------------------------

  private tick (): void {
    const now = Date.now()
    const m = this.health.multiplier
    // once per tick, not per member: both walk the whole table
    const silentAfter = this.missAfterMs() * m
    for (const member of this.table.all()) {
      if (member.status !== 'alive' || this.probing.has(member.peerId)) continue
      if (now - member.lastHeardAt > silentAfter) {
        void this.probe(member)
      }
    }
    const n = this.table.liveCount()
    // the first suspecter started the suspicion; the others confirm it. A refused dial
    // (nothing listens where the member was) is more than every confirmation: the
    // timeout then only leaves room for a refutation, and is the flat minimum, not
    // grown with log N (that growth is for gossip reaching more members, and a
    // process that is gone refutes nothing; a member alive at another address does,
    // or comes back as recovered)
    for (const member of this.table.expiring(now, (member) => member.suspicion?.refused === true
      ? this.timing.suspicionMinMs
      : this.suspicionTimeout(n, Math.max(0, (member.suspicion?.confirmers.size ?? 1) - 1), m))) {
      void this.judge(member)
    }
    for (const gone of this.table.reap(now, this.timing.reapAfterMs)) {
      this.log('reaped member %s', gone)
      this.storedAddrs.delete(gone)
    }
  }

  /**
   * A suspicion ran out unrefuted. Unless this node's own dial was refused
   * (nothing listens there), it tries the member once more, directly, within
   * two probe timeouts: a member whose refutation did not reach this node
   * (its gossip starved on a busy host) answers and stays alive here. Then
   * the verdict, told to the others so their timers do not set the slowest
   * observer's pace.
   */
  private async judge (member: Member): Promise<void> {
    const signal = this.controller?.signal
    if (signal == null || signal.aborted || this.judging.has(member.peerId)) return
    this.judging.add(member.peerId)
    try {
      const incarnation = member.incarnation
      if (member.suspicion?.refused !== true) {
        const m = this.health.multiplier
        try {
          const target = peerIdFromString(member.peerId)
          const budget = AbortSignal.any([signal, timeoutSignal(this.timing.probeTimeoutMs * 2 * m)])
          await this.prober.prepare(target, { signal: budget })
          const { rttMs } = await this.prober.ping(target, { signal: budget })
          this.table.markHeard(member.peerId, Date.now(), rttMs)
          const event = this.table.clearSuspicion(member.peerId, incarnation, Date.now())
          if (event != null) {
            this.counters.lastChanceAlive++
            this.emitMember(event)
          }
          return
        } catch {
          if (signal.aborted) return
        }
      }
      // refuted or heard from meanwhile: no verdict
      const current = this.table.get(member.peerId)
      if (current?.status !== 'suspect' || current.incarnation !== incarnation) return
      const event = this.table.fail(member.peerId, incarnation, Date.now())
      if (event == null) return
      this.emitMember({ ...event, by: this.self, reason: 'timeout' })
      this.counters.claimsSent++
      await this.publish({ v: 1, type: 'failed', target: event.peerId, incarnation: event.incarnation })
    } finally {
      this.judging.delete(member.peerId)
    }
  }

  private readonly judging = new Set<string>()

  /**
   * The probe round: one member per period, taken from this node's ring
   * successors (see ring.ts) in shuffled order, walked to the end before the
   * ring is recomputed. Each member has `monitors` predecessors probing it,
   * so it is probed about once per period, as in SWIM, but only by the same
   * few members over connections they keep, not by every member in turn.
   */
  private probeNext (): void {
    // the host's run queue, once per period: cheap (one read of /proc/loadavg), and a
    // 1-minute average moves slowly enough for that
    this.health.observeLoad((loadavg()[0] ?? 0) / availableParallelism())
    while (true) {
      const next = this.probeOrder.pop()
      if (next == null) break
      const member = this.table.get(next)
      if (member?.status === 'alive') {
        if (!this.probing.has(next)) void this.probe(member)
        return
      }
    }
    this.probeOrder = this.topology.update(this.table.all()).successors.sort(() => Math.random() - 0.5)
  }

  private probeOrder: string[] = []

  /**
   * A lost connection to a member this node monitors is checked at once
   * instead of waiting for the next probe. Other lost connections are not:
   * members close idle connections outside their view (topology.ts), and
   * the monitors of a member that really died will tell everyone.
   */
  private connectionLost (peer: PeerId): void {
    if (this.components.connectionManager.getConnections().length === 0) {
      // isolated: announce again on the way back in (see onGraft)
      this.announced = false
      this.grafted = false
    }
    const member = this.table.get(peer.toString())
    if (member == null || !this.topology.update(this.table.all()).successors.includes(member.peerId)) return
    if (member.status === 'alive' && !this.probing.has(member.peerId) && !this.leaving) {
      void this.probe(member)
    }
  }

  private async probe (member: Member): Promise<void> {
    const signal = this.controller?.signal
    if (signal == null || signal.aborted) return
    this.probing.add(member.peerId)
    const m = this.health.multiplier
    const target = peerIdFromString(member.peerId)
    let refused = false
    try {
      this.counters.probes++
      try {
        // connecting is bounded separately: a refused dial (a dead process) fails at once,
        // a slow handshake on a busy host is not a missed ack
        await this.prober.prepare(target, { signal: AbortSignal.any([signal, timeoutSignal(this.timing.probeTimeoutMs * CONNECT_BUDGET_FACTOR * m)]) })
        const { rttMs } = await this.prober.ping(target, { signal: AbortSignal.any([signal, timeoutSignal(this.timing.probeTimeoutMs * m)]) })
        this.health.probeSucceeded()
        this.table.markHeard(member.peerId, Date.now(), rttMs)
        return
      } catch (err) {
        if (signal.aborted) return
        refused = isRefusal(err)
        this.log.trace('direct probe of %s failed: %e', member.peerId, err)
      }
      this.counters.probesFailed++
      // indirect probes guard against a bad path between this node and the member;
      // a refusal is no path problem but the member's host answering that nothing
      // listens there, so suspect at once (waiting on helpers cost up to a whole
      // indirect window, 0.7 s x local health, in crash-n50)
      if (!refused) {
        const indirect = await this.indirectProbe(member, target, m, signal)
        // a helper's refused dial is the same evidence as our own (the process is gone)
        if (indirect === 'refused') refused = true
        if (indirect === 'ack') {
          this.health.missedAck()
          this.table.markHeard(member.peerId, Date.now())
          return
        }
      }
      if (signal.aborted) return
      const current = this.table.get(member.peerId)
      if (current?.status !== 'alive' || current.incarnation !== member.incarnation) return
      // just joined or recovered: likely still starting up (a busy event loop), not dead;
      // on a stressed host (local health) starting takes longer, so the grace stretches
      // like every other timeout; a refused dial is different: nothing listens there any more
      const grace = JOIN_GRACE_MS * m
      if (!refused && Date.now() - current.statusSince < grace) {
        this.log('not suspecting %s: alive for less than %d ms', member.peerId, grace)
        return
      }
      const event = this.table.suspect(member.peerId, this.self, current.incarnation, Date.now())
      if (refused) this.table.markRefused(member.peerId)
      if (event != null) {
        this.emitMember({ ...event, by: this.self, reason: refused ? 'refused' : 'no-ack' })
        this.counters.claimsSent++
        await this.publish({ v: 1, type: 'suspect', target: member.peerId, incarnation: current.incarnation, ...(refused ? { refused: true as const } : {}) })
      }
    } finally {
      this.probing.delete(member.peerId)
    }
  }

  private async indirectProbe (member: Member, target: PeerId, multiplier: number, signal: AbortSignal): Promise<'ack' | 'refused' | 'fail'> {
    // the target's other monitors first (they hold connections to it, so their probe
    // costs no handshake), then members we hold connections to, then anyone
    const live = this.table.all().filter(h => h.status === 'alive' || h.status === 'suspect').map(h => h.peerId)
    const monitors = ringNeighbours(member.peerId, [...live, this.self], this.topology.monitors).predecessors
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const rank = (h: Member): number => monitors.includes(h.peerId) ? 0 : connected.has(h.peerId) ? 1 : 2
    const helpers = this.table.all()
      .filter(h => h.status === 'alive' && h.peerId !== member.peerId)
      .sort(() => Math.random() - 0.5)
      .sort((a, b) => rank(a) - rank(b))
      .slice(0, this.timing.indirectProbes)
    if (helpers.length === 0) return 'fail'
    const timeoutMs = Math.round(this.timing.indirectTimeoutMs * multiplier)
    // the helper gets most of the window to probe; we wait for the whole window
    const inner = Math.max(50, Math.round(timeoutMs * 0.8))
    const wait = AbortSignal.any([signal, timeoutSignal(timeoutMs)])
    this.counters.indirectProbes += helpers.length
    let silent = 0
    let refusals = 0
    const attempts = helpers.map(async h => {
      let answer: 'ack' | 'nack' | 'refused'
      try {
        answer = await this.prober.pingReq(peerIdFromString(h.peerId), target, member.addrs, inner, { signal: wait })
      } catch (err) {
        // still waiting when the window closed (a refused or denied dial fails at once)
        if (wait.aborted) silent++
        throw err
      }
      if (answer === 'refused') refusals++
      if (answer !== 'ack') throw new Error(answer)
      return 'ack' as const
    })
    try {
      return await Promise.any(attempts)
    } catch {
      // Lifeguard: helpers that cannot reach the target still answer in time, with
      // a nack; when some stayed silent, the slow one is probably this node, so it
      // should judge more slowly
      if (silent > 0 && !signal.aborted) {
        this.counters.missedNacks++
        this.health.missedNack()
      }
      return refusals > 0 ? 'refused' : 'fail'
    }
  }

  // ---- topology upkeep ---------------------------------------------------

  /**
   * Keep the partial view (topology.ts): ring neighbours and random members
   * connected, idle extra connections closed; try to reach failed members
   * again; and retry the member-list pull until one has succeeded.
   */
  private async upkeep (): Promise<void> {
    const signal = this.controller?.signal
    if (signal == null || signal.aborted) return
    const connections = this.components.connectionManager.getConnections()
    if (!this.syncedOk && this.synced === 0 && connections.length > 0) {
      void this.pullMembers(connections[Math.floor(Math.random() * connections.length)]!.remotePeer)
    }
    this.reconnect()
    await this.topology.upkeep(this.table.all(), signal)
  }

  /**
   * Serf's reconnect: a push-pull with a few random failed members (at most
   * RECONNECT_AT_ONCE at a time, each dial given one upkeep round). Once a partition heals, the first that gets through revives
   * the member everywhere: the pull tells it that this node holds it failed,
   * it refutes with a new incarnation before answering, and this node takes
   * the advert it answers with as a recovery and passes it on to its side of
   * the cut. The answer names this node as failed too, when the member held
   * it so: this node refutes in turn and pushes the member its new advert,
   * which the member relays to its side; one exchange revives both. Waiting for adverts instead took
   * one advert interval at best (N / 2 s under `local`, 50 s at N = 100), and
   * across two islands, whose gossipsub meshes are each full and do not graft
   * to each other, much longer: a 50/50 split at N = 100 had not merged 180 s
   * after the heal.
   */
  private reconnect (): void {
    const signal = this.controller?.signal
    if (signal == null || signal.aborted || this.reconnecting.size >= RECONNECT_AT_ONCE) return
    const failed = this.table.all().filter(m => m.status === 'failed' && !this.reconnecting.has(m.peerId)).map(m => m.peerId)
    for (const peer of randomSample(failed, RECONNECT_AT_ONCE - this.reconnecting.size)) {
      this.reconnecting.add(peer)
      void this.reconnectTo(peerIdFromString(peer), signal).finally(() => { this.reconnecting.delete(peer) })
    }
  }

  /**
   * The dial gets one upkeep round (stretched by local health like pulls: a
   * Noise handshake on a host at load 50 takes seconds), like the topology's: a dial into a cut
   * waits out TCP's SYN retries, and would hold its place for the pull's
   * whole timeout (10 s and more) after the cut had healed: at N = 10 two
   * islands merged 0.8 s after the heal with plain redials, 12 s with such pulls.
   */
  private async reconnectTo (peer: PeerId, signal: AbortSignal): Promise<void> {
    try {
      await this.components.connectionManager.openConnection(peer, { signal: AbortSignal.any([signal, timeoutSignal(this.timing.upkeepIntervalMs * this.health.multiplier)]) })
    } catch (err) {
      this.log.trace('reconnecting to failed member %p: %e', peer, err)
      return
    }
    await this.pullMembers(peer, true)
  }

  private readonly reconnecting = new Set<string>()

  // ---- helpers -----------------------------------------------------------

  /**
   * A member held failed is unreachable over this node's connections to it
   * (probes through them went unanswered, here or at a neighbour): they are
   * aborted. A connection across a cut stays open until TCP gives up, minutes
   * later, and every stream opened on it (a reconnect's pull) hung until its
   * deadline, 10 s and more after the cut had healed; a fresh dial fails
   * within its round while the cut lasts and gets through once it heals. A
   * member failed wrongly refutes, and is redialled by the reconnect.
   */
  private dropConnections (peerId: string): void {
    for (const c of this.components.connectionManager.getConnections(peerIdFromString(peerId))) {
      c.abort(new MemberFailedError(`member ${peerId} is held failed`))
    }
  }

  private emitMember (event: MemberEvent): void {
    const view: MemberEventView = {
      type: event.type,
      peerId: event.peerId,
      status: event.status,
      incarnation: event.incarnation,
      time: new Date(event.at).toISOString(),
      ...(event.by != null ? { by: event.by } : {}),
      ...(event.reason != null ? { reason: event.reason } : {})
    }
    // a suspicion's timeout is checked every tickMs, not at the idle pace
    if (event.type === 'suspect') this.ticker.hurry()
    if (event.type === 'failed') this.dropConnections(event.peerId)
    this.history.push(view)
    if (this.history.length > EVENT_HISTORY) this.history.shift()
    if (event.reason != null) this.log('member %s %s (incarnation %d): %s by %s', event.peerId, event.type, event.incarnation, event.reason, event.by)
    else this.log('member %s %s (incarnation %d)', event.peerId, event.type, event.incarnation)
    this.safeDispatchEvent('member', { detail: view })
  }

  private view (m: Member, now: number): MemberView {
    // RTT comes from this node's probes: its ring successors, and any member it had to check
    const rttMs = m.rttMs
    return {
      peerId: m.peerId,
      self: false,
      status: m.status,
      incarnation: m.incarnation,
      lastSeenMs: Math.max(0, now - m.lastHeardAt),
      statusForMs: Math.max(0, now - m.statusSince),
      ...(rttMs != null ? { rttMs } : {}),
      addrs: m.addrs,
      resources: m.resources,
      labels: m.labels,
      services: m.services,
      version: m.version,
      ...(m.suspicion != null ? { suspectedBy: m.suspicion.confirmers.size } : {})
    }
  }

  private selfView (): MemberView {
    return {
      peerId: this.self,
      self: true,
      status: this.leaving ? 'left' : 'alive',
      incarnation: this.incarnation,
      lastSeenMs: 0,
      statusForMs: 0,
      addrs: this.ownAddrs(),
      resources: this.resources ?? { cpus: 0, load1: 0, load5: 0, load15: 0, memTotal: 0, memFree: 0, loopLagMs: 0, slotsTotal: this.sampler.slotsTotal, slotsUsed: 0, diskFree: 0 },
      labels: this.labels(),
      services: this.services,
      version: this.init.version ?? '0.0.0'
    }
  }

  private async readJson<T> (key: Key): Promise<T | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await this.components.datastore.get(key))) as T
    } catch {
      return undefined
    }
  }

  private async persistIncarnation (): Promise<void> {
    try {
      await this.components.datastore.put(INCARNATION_KEY, new TextEncoder().encode(String(this.incarnation)))
    } catch (err) {
      this.log.error('could not persist incarnation: %e', err)
    }
  }
}

