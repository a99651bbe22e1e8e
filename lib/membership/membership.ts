import { serviceCapabilities, serviceDependencies, TypedEventEmitter, type CounterGroup, type Logger, type PeerId, type Startable } from '@libp2p/interface'
import type { Message } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'
import type { MemberEventView, MembershipStats, MemberView } from '../interface/api.js'
import { lifetimeController, timeoutSignal } from '../signals.js'
import { AddressBook } from './address-book.js'
import { Advertiser } from './advertiser.js'
import { EVENT_HISTORY, LEAVE_WAIT_MS, PROBE_PROTOCOL_SUFFIX, SYNC_PROTOCOL_SUFFIX, TOPIC_SUFFIX } from './constants.js'
import { newCounters, REJECT_REASONS, type MembershipContext, type RejectReason } from './context.js'
import { MemberNotFoundError, MemberFailedError } from './errors.js'
import { FailureDetector } from './failure-detector.js'
import { MemberGossip } from './gossip.js'
import { Incarnation } from './incarnation.js'
import type { MembershipComponents, MembershipEvents, MembershipInit } from './index.js'
import { Labels } from './labels.js'
import { LocalHealth } from './local-health.js'
import { MemberTable, type MemberEvent } from './member-table.js'
import { MemberSync } from './member-sync.js'
import { timingFrom, type TimingPreset } from './presets.js'
import { Prober } from './probe.js'
import { ResourceSampler } from './resources.js'
import { Topology } from './topology.js'
import { emptyResources, memberEventView, memberView, selfView } from './views.js'

/**
 * Gossip membership with SWIM-style failure detection and Lifeguard's
 * refinements. Every member publishes a signed advert each interval
 * (advertiser.ts); silence leads to a direct probe, then indirect probes
 * through k others, then a suspicion gossiped to all, and an unrefuted
 * suspicion becomes failure (failure-detector.ts); the suspect refutes by
 * raising its incarnation (incarnation.ts); member lists are exchanged with
 * neighbours to catch up and to heal partitions (member-sync.ts). This class
 * wires those pieces over one member table and answers for them. See
 * presets.ts for the timing budget.
 */
export class Membership extends TypedEventEmitter<MembershipEvents> implements Startable {
  readonly topic: string
  readonly timing: TimingPreset
  private readonly components: MembershipComponents
  private readonly init: MembershipInit
  private readonly log: Logger
  private readonly self: string
  private readonly table: MemberTable
  private readonly health: LocalHealth
  private readonly counters = newCounters()
  private readonly rejectedCounts = Object.fromEntries(REJECT_REASONS.map(r => [r, 0])) as Record<RejectReason, number>
  private readonly rejectedMetric?: CounterGroup<RejectReason>
  private readonly history: MemberEventView[] = []
  private readonly labelStore: Labels
  private readonly incarnation: Incarnation
  private readonly sampler: ResourceSampler
  private readonly addresses: AddressBook
  private readonly topology: Topology
  private readonly prober: Prober
  private readonly advertiser: Advertiser
  private readonly gossip: MemberGossip
  private readonly detector: FailureDetector
  private readonly sync: MemberSync
  private controller?: AbortController
  private started = false
  private leaving = false

  private readonly onMessage = (evt: CustomEvent<Message>): void => { this.gossip.receive(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { this.sync.connected(evt.detail) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (this.components.connectionManager.getConnections().length === 0) this.advertiser.isolated()
    this.detector.connectionLost(evt.detail)
  }

  constructor (components: MembershipComponents, init: MembershipInit = {}) {
    super()
    this.components = components
    this.init = init
    this.self = components.peerId.toString()
    this.log = components.logger.forComponent('noodled:membership')
    this.timing = timingFrom(init.timing ?? 'lan', init)
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.topic = `${prefix}${TOPIC_SUFFIX}`.replace(/^\//, '')
    this.table = new MemberTable(this.self)
    this.health = new LocalHealth({ lagPerPointMs: this.timing.lagPerHealthPointMs, loadPerPoint: this.timing.loadPerHealthPoint, max: this.timing.maxLocalHealth })
    this.rejectedMetric = components.metrics?.registerCounterGroup('noodled_membership_messages_rejected_total', {
      label: 'reason',
      help: 'Membership messages rejected by the topic validator or probe handler, by reason'
    })

    const context: MembershipContext = {
      self: this.self,
      timing: this.timing,
      table: this.table,
      health: this.health,
      counters: this.counters,
      log: this.log,
      signal: () => this.controller?.signal,
      leaving: () => this.leaving,
      emit: (event) => { this.emitMember(event) },
      reject: (reason) => { this.reject(reason) }
    }
    this.labelStore = new Labels(components.datastore, init.labels)
    this.incarnation = new Incarnation({ datastore: components.datastore, health: this.health, log: this.log })
    this.sampler = new ResourceSampler({ diskPath: init.repoPath, slotsTotal: init.workerSlots })
    this.addresses = new AddressBook({ peerStore: components.peerStore, log: this.log, signal: context.signal })
    const probeProtocol = `${prefix}${PROBE_PROTOCOL_SUFFIX}`
    this.topology = new Topology(components, {
      self: this.self,
      monitors: init.monitors ?? 3,
      randomPeers: init.targetPeers ?? 5,
      probeProtocol,
      dialTimeoutMs: this.timing.upkeepIntervalMs,
      ...(init.trimIdleAfterMs != null ? { trimIdleAfterMs: init.trimIdleAfterMs } : {}),
      log: this.log
    })
    this.prober = new Prober(components, {
      protocol: probeProtocol,
      log: this.log,
      incarnation: () => this.incarnation.value,
      handlerTimeoutMs: this.timing.probeTimeoutMs + this.timing.indirectTimeoutMs * 2,
      onMalformed: () => { this.reject('malformed') },
      onLeave: (peer, incarnation, seq) => {
        const event = this.table.applyLeave(peer, incarnation, seq, Date.now())
        if (event != null) this.emitMember(event)
      }
    })
    this.advertiser = new Advertiser(components, {
      topic: this.topic,
      version: init.version ?? '0.0.0',
      sampler: this.sampler,
      context,
      incarnation: () => this.incarnation.value,
      labels: () => this.labels(),
      onFirstGraft: () => { this.sync.antiEntropy() }
    })
    this.gossip = new MemberGossip({ topic: this.topic, context, advertiser: this.advertiser, incarnation: this.incarnation, addresses: this.addresses })
    this.detector = new FailureDetector(components, { context, prober: this.prober, topology: this.topology, advertiser: this.advertiser, addresses: this.addresses })
    this.sync = new MemberSync(components, {
      protocol: `${prefix}${SYNC_PROTOCOL_SUFFIX}`,
      context,
      advertiser: this.advertiser,
      gossip: this.gossip,
      incarnation: this.incarnation,
      addresses: this.addresses,
      topology: this.topology,
      selfEntry: () => this.selfView()
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/membership'
  readonly [serviceCapabilities]: string[] = ['noodled:membership']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = lifetimeController()
    // a restart must outrank every advert and claim about the previous run
    await this.incarnation.load()
    await this.labelStore.load()
    this.sampler.start()
    await this.prober.start()
    await this.sync.start()
    this.advertiser.start()
    this.started = true
  }

  afterStart (): void {
    const { pubsub, events } = this.components
    pubsub.topicValidators.set(this.topic, (_peer, msg) => this.gossip.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.advertiser.onSubscriptionChange)
    pubsub.addEventListener('gossipsub:graft', this.advertiser.onGraft)
    pubsub.subscribe(this.topic)
    events.addEventListener('peer:disconnect', this.onDisconnect)
    events.addEventListener('peer:connect', this.onConnect)
    this.advertiser.request()
    this.sync.afterStart()
    this.detector.start()
  }

  /**
   * Graceful leave: announce `left` (bounded wait) before the node stops,
   * gossiped and said directly to every connected member. Gossip alone
   * reaches nobody while the topic's mesh has not formed (publish goes to
   * mesh peers only), and the others would then judge the node failed.
   */
  async beforeStop (): Promise<void> {
    if (!this.started) return
    this.leaving = true
    // the seq the `left` advert will carry, so adverts sent before it are stale wherever the direct word lands first
    const seq = this.advertiser.nextSeq
    const signal = timeoutSignal(LEAVE_WAIT_MS)
    const direct = this.components.connectionManager.getConnections()
      .map(c => c.remotePeer)
      .filter((p, i, all) => all.findIndex(q => q.equals(p)) === i && this.table.get(p.toString()) != null)
      .map(async p => { await this.prober.leave(p, this.incarnation.value, seq, { signal }).catch(() => {}) })
    try {
      await Promise.race([
        Promise.all([this.advertiser.publishAdvert('left'), ...direct]),
        new Promise(resolve => setTimeout(resolve, LEAVE_WAIT_MS).unref())
      ])
    } catch (err) {
      this.log('could not announce leave: %e', err)
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.advertiser.stop()
    this.controller?.abort()
    this.detector.stop()
    const { pubsub, events } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.advertiser.onSubscriptionChange)
    pubsub.removeEventListener('gossipsub:graft', this.advertiser.onGraft)
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
    return this.labelStore.current()
  }

  members (): MemberView[] {
    const now = Date.now()
    const rows = this.table.all().map(m => memberView(m, now))
    return [this.selfView(), ...rows.sort((a, b) => a.peerId.localeCompare(b.peerId))]
  }

  member (peerId: string): MemberView {
    if (peerId === this.self) return this.selfView()
    const m = this.table.get(peerId)
    if (m == null) throw new MemberNotFoundError(`no member ${peerId} in this node's view`)
    return memberView(m, Date.now())
  }

  /** Recent member events, oldest first. */
  recentEvents (): MemberEventView[] {
    return [...this.history]
  }

  stats (): MembershipStats {
    return {
      members: this.table.size + 1,
      alive: this.table.all().filter(m => m.status === 'alive').length + 1,
      incarnation: this.incarnation.value,
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
    return this.incarnation.value
  }

  /** The advert interval for the current mesh size (see TimingPreset.maxAdvertRate). */
  advertIntervalMs (): number {
    return this.advertiser.intervalMs()
  }

  // ---- what this node says of itself -------------------------------------

  async setLabel (key: string, value: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
    const labels = await this.labelStore.set(key, value, options)
    this.selfUpdated()
    return labels
  }

  async removeLabel (key: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, string>> {
    const labels = await this.labelStore.remove(key, options)
    this.selfUpdated()
    return labels
  }

  /**
   * The services this node hosts (replicas it owns, healthy external
   * instances), announced in its adverts (see Advertiser.setServices).
   */
  setServices (names: string[]): void {
    this.advertiser.setServices(names)
  }

  /** Worker slots this node's runtime has taken (the instances its module services may run). */
  setSlotsUsed (n: number): void {
    this.advertiser.setSlotsUsed(n)
  }

  /** Worker slots this node offers. */
  get slotsTotal (): number {
    return this.sampler.slotsTotal
  }

  get hostedServices (): string[] {
    return this.advertiser.hostedServices
  }

  /** This node's own labels changed: advertised, and an update event for itself, as for any member (placement reads it). */
  private selfUpdated (): void {
    this.advertiser.request()
    this.emitMember({ type: 'update', peerId: this.self, status: this.leaving ? 'left' : 'alive', incarnation: this.incarnation.value, at: Date.now() })
  }

  private selfView (): MemberView {
    return selfView({
      peerId: this.self,
      leaving: this.leaving,
      incarnation: this.incarnation.value,
      addrs: this.advertiser.ownAddrs(),
      resources: this.advertiser.currentResources ?? emptyResources(this.sampler.slotsTotal),
      labels: this.labels(),
      services: this.advertiser.hostedServices,
      version: this.init.version ?? '0.0.0'
    })
  }

  // ---- events ------------------------------------------------------------

  private reject (reason: RejectReason): void {
    this.rejectedCounts[reason]++
    this.rejectedMetric?.increment({ [reason]: true })
  }

  private emitMember (event: MemberEvent): void {
    const view = memberEventView(event)
    if (event.type === 'suspect') this.detector.hurry()
    if (event.type === 'failed') this.dropConnections(event.peerId)
    this.history.push(view)
    if (this.history.length > EVENT_HISTORY) this.history.shift()
    if (event.reason != null) this.log('member %s %s (incarnation %d): %s by %s', event.peerId, event.type, event.incarnation, event.reason, event.by)
    else this.log('member %s %s (incarnation %d)', event.peerId, event.type, event.incarnation)
    this.safeDispatchEvent('member', { detail: view })
  }

  /**
   * A member held failed is unreachable over this node's connections to it
   * (probes through them went unanswered, here or at a neighbour): they are
   * aborted. libp2p's connection monitor is off, so a connection across a
   * cut stays open until TCP gives up, and every stream opened on it (a
   * reconnect's pull) would hang until its deadline after the cut healed; a
   * fresh dial fails within its round while the cut lasts and gets through
   * once it heals. A member failed wrongly refutes, and is redialled by the
   * reconnect.
   */
  private dropConnections (peerId: string): void {
    for (const c of this.components.connectionManager.getConnections(peerIdFromString(peerId))) {
      c.abort(new MemberFailedError(`member ${peerId} is held failed`))
    }
  }
}
