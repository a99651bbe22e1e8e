import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { randomSample } from '../random-sample.js'
import { timeoutSignal } from '../signals.js'
import type { AddressBook } from './address-book.js'
import type { Advertiser } from './advertiser.js'
import { RECONNECT_AT_ONCE, SYNC_TIMEOUT_MAX_MS, SYNC_TIMEOUT_MS } from './constants.js'
import type { MembershipContext } from './context.js'
import type { MemberGossip } from './gossip.js'
import type { Incarnation } from './incarnation.js'
import type { Member, SyncEntry } from './member-table.js'
import { SyncProtocol, type SyncSnapshot } from './sync-protocol.js'
import type { Topology } from './topology.js'

export interface MemberSyncComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
}

export interface MemberSyncInit {
  /** the member-list pull protocol */
  protocol: string
  context: Pick<MembershipContext, 'self' | 'timing' | 'table' | 'health' | 'log' | 'emit' | 'reject' | 'signal'>
  advertiser: Pick<Advertiser, 'hasAdvert' | 'signedSelf' | 'advertNow'>
  gossip: Pick<MemberGossip, 'pushReceived'>
  incarnation: Pick<Incarnation, 'refute'>
  addresses: Pick<AddressBook, 'remember'>
  topology: Pick<Topology, 'upkeep'>
  /** this node as a member-list entry */
  selfEntry: () => SyncEntry
}

/**
 * Member lists exchanged with neighbours (memberlist's push-pull): a
 * newcomer pulls from its first two connections instead of waiting for each
 * member's next advert; every syncIntervalMs a random connected member is
 * pulled from (anti-entropy); and each upkeep round a few failed members are
 * redialled and pulled from (Serf's reconnect), which is how two sides of a
 * healed partition find each other. Upkeep also keeps the partial view
 * connected (topology.ts). The wire protocol is sync-protocol.ts.
 */
export class MemberSync {
  private readonly components: MemberSyncComponents
  private readonly init: MemberSyncInit
  private readonly ctx: MemberSyncInit['context']
  readonly protocol: SyncProtocol
  /** neighbours a member list was pulled from; a newcomer pulls from its first two */
  private synced = 0
  private syncedOk = false
  private readonly reconnecting = new Set<string>()
  private tasks: RepeatingTask[] = []

  constructor (components: MemberSyncComponents, init: MemberSyncInit) {
    this.components = components
    this.init = init
    this.ctx = init.context
    this.protocol = new SyncProtocol(components, {
      protocol: init.protocol,
      log: this.ctx.log,
      snapshot: () => this.snapshot(),
      // never waits for the first advert: an answer without it is still a member list
      signedSelf: async () => init.advertiser.hasAdvert ? await init.advertiser.signedSelf() : undefined,
      onPush: (from, signed) => { void init.gossip.pushReceived(from, signed) },
      // the refuting advert is built before the answer, which carries it (see reconnect)
      onHeldDown: async (from, held) => {
        if (init.incarnation.refute(from.toString(), held.status, held.incarnation)) await init.advertiser.advertNow()
      },
      // as long as the asking side waits (see pull)
      timeoutMs: () => this.timeoutMs(),
      onMalformed: () => { this.ctx.reject('malformed') }
    })
  }

  async start (): Promise<void> {
    await this.protocol.start()
  }

  /** Pulls from the connections there are, and starts upkeep and anti-entropy. */
  afterStart (): void {
    if (this.tasks.length > 0) return
    for (const conn of this.components.connectionManager.getConnections()) void this.pull(conn.remotePeer)
    const { timing } = this.ctx
    this.tasks = [
      repeatingTask(async () => { await this.upkeep() }, timing.upkeepIntervalMs, { runImmediately: true }),
      repeatingTask(() => { this.antiEntropy() }, timing.syncIntervalMs)
    ]
    this.tasks.forEach(task => { task.start() })
  }

  async stop (): Promise<void> {
    this.tasks.forEach(task => { task.stop() })
    this.tasks = []
    await this.protocol.stop()
  }

  /** A new connection: one of a newcomer's first two pulls. */
  connected (peer: PeerId): void {
    void this.pull(peer)
  }

  /** A member-list pull's time, both sides, stretched by local health like probes. */
  private timeoutMs (): number {
    return Math.min(SYNC_TIMEOUT_MAX_MS, SYNC_TIMEOUT_MS * this.ctx.health.multiplier)
  }

  /**
   * Alive and suspect members (self included) as sent to a newcomer, and the
   * members this node holds suspect or failed. A suspect member is still a
   * member: a newcomer that was not told of it would wait for its next
   * advert. The newcomer takes it as alive and leaves the suspicion to the
   * member's monitors (see pull).
   */
  private snapshot (): SyncSnapshot {
    const entry = (m: SyncEntry): SyncEntry =>
      ({ peerId: m.peerId, incarnation: m.incarnation, addrs: m.addrs, resources: m.resources, labels: m.labels, services: m.services, version: m.version })
    const all = this.ctx.table.all()
    return {
      members: [entry(this.init.selfEntry()), ...all.filter(m => m.status === 'alive' || m.status === 'suspect').map(entry)],
      down: all.filter((m): m is Member & { status: 'suspect' | 'failed' } => m.status === 'suspect' || m.status === 'failed')
        .map(m => ({ peerId: m.peerId, incarnation: m.incarnation, status: m.status }))
    }
  }

  /**
   * Pull a neighbour's member list, from the first two peers that connect
   * (a failed pull frees its turn for the next connection, and upkeep retries
   * until one has succeeded: a newcomer on a busy host can see its first
   * pulls time out, and then would wait for every member's next advert).
   * `again` pulls regardless: anti-entropy and reconnects.
   */
  async pull (peer: PeerId, again = false): Promise<void> {
    const signal = this.ctx.signal()
    if (signal == null || signal.aborted || (!again && this.synced >= 2)) return
    const { table, self } = this.ctx
    if (!again) this.synced++
    try {
      const push = await this.init.advertiser.signedSelf()
      const held = table.get(peer.toString())
      const you = held?.status === 'suspect' || held?.status === 'failed' ? { status: held.status, incarnation: held.incarnation } : undefined
      const { members, down, self: theirs } = await this.protocol.pull(peer, { signal: AbortSignal.any([signal, timeoutSignal(this.timeoutMs())]), ...(push != null ? { push } : {}), ...(you != null ? { you } : {}) })
      this.syncedOk = true
      // the neighbour's own advert, signed: it verifies the neighbour here at once, and
      // revives it (and passes it on) when this node held it failed (see reconnect)
      if (theirs != null) await this.init.gossip.pushReceived(peer, theirs)
      const now = Date.now()
      const learnt = new Set<string>()
      for (const e of members) {
        const event = table.applySync(e, now)
        if (event != null) {
          learnt.add(e.peerId)
          void this.init.addresses.remember({ peerId: e.peerId, addrs: e.addrs })
          this.ctx.emit(event)
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
        if (d.peerId === self) {
          // refuted like a claim: a higher incarnation outranks it everywhere
          refuted = this.init.incarnation.refute(from, d.status, d.incarnation)
          continue
        }
        const event = table.suspect(d.peerId, from, d.incarnation, now)
        if (event != null) this.ctx.emit({ ...event, by: from, reason: 'claim' })
      }
      if (refuted) {
        // the neighbour holds this node down: push it the refuting advert at once, which
        // it takes as a recovery and relays to its side (after a partition, the other
        // side, where this node's own gossip does not reach). Not again: its next
        // answer names at most the incarnation this one outranks
        await this.init.advertiser.advertNow()
        void this.pull(peer, true)
      }
    } catch (err) {
      // a neighbour that cannot answer (older version, busy) is not fatal: adverts will come;
      // at debug, not trace: a newcomer whose pulls all fail waits a whole advert interval per member
      if (!again) this.synced--
      this.ctx.log('member sync from %p failed: %e', peer, err)
    }
  }

  /**
   * Anti-entropy, as memberlist's push-pull: pull the member list of a random
   * connected member now and then, so a member whose adverts this node missed
   * (it was itself starting, or gossipsub had not meshed it yet) is listed
   * within syncIntervalMs instead of at that member's next advert. Only
   * unknown members are taken from it; each stays unverified until its own
   * signed advert arrives.
   */
  antiEntropy (): void {
    const peers = this.components.connectionManager.getConnections()
      .map(c => c.remotePeer)
      .filter(p => this.ctx.table.get(p.toString())?.status === 'alive')
    const peer = peers[Math.floor(Math.random() * peers.length)]
    if (peer != null) void this.pull(peer, true)
  }

  /**
   * Keep the partial view (topology.ts): ring neighbours and random members
   * connected, idle extra connections closed; try to reach failed members
   * again; and retry the member-list pull until one has succeeded.
   */
  private async upkeep (): Promise<void> {
    const signal = this.ctx.signal()
    if (signal == null || signal.aborted) return
    const connections = this.components.connectionManager.getConnections()
    if (!this.syncedOk && this.synced === 0 && connections.length > 0) {
      void this.pull(connections[Math.floor(Math.random() * connections.length)]!.remotePeer)
    }
    this.reconnect()
    await this.init.topology.upkeep(this.ctx.table.all(), signal)
  }

  /**
   * Serf's reconnect: a push-pull with a few random failed members (at most
   * RECONNECT_AT_ONCE at a time, each dial given one upkeep round). Once a
   * partition heals, the first that gets through revives the member
   * everywhere: the pull tells it that this node holds it failed, it refutes
   * with a new incarnation before answering, and this node takes the advert
   * it answers with as a recovery and passes it on to its side of the cut.
   * The answer names this node as failed too, when the member held it so:
   * this node refutes in turn and pushes the member its new advert, which the
   * member relays to its side; one exchange revives both. Adverts alone would
   * take an advert interval at best, and across two islands, whose gossipsub
   * meshes are each full and do not graft to each other, much longer.
   */
  private reconnect (): void {
    const signal = this.ctx.signal()
    if (signal == null || signal.aborted || this.reconnecting.size >= RECONNECT_AT_ONCE) return
    const failed = this.ctx.table.all().filter(m => m.status === 'failed' && !this.reconnecting.has(m.peerId)).map(m => m.peerId)
    for (const peer of randomSample(failed, RECONNECT_AT_ONCE - this.reconnecting.size)) {
      this.reconnecting.add(peer)
      void this.reconnectTo(peerIdFromString(peer), signal).finally(() => { this.reconnecting.delete(peer) })
    }
  }

  /**
   * The dial gets one upkeep round, stretched by local health like pulls (a
   * Noise handshake on a loaded host takes seconds): a dial into a cut waits
   * out TCP's SYN retries, and would otherwise hold its place for the pull's
   * whole timeout after the cut had healed.
   */
  private async reconnectTo (peer: PeerId, signal: AbortSignal): Promise<void> {
    try {
      await this.components.connectionManager.openConnection(peer, { signal: AbortSignal.any([signal, timeoutSignal(this.ctx.timing.upkeepIntervalMs * this.ctx.health.multiplier)]) })
    } catch (err) {
      this.ctx.log.trace('reconnecting to failed member %p: %e', peer, err)
      return
    }
    await this.pull(peer, true)
  }
}
