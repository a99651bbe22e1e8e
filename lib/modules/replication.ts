import { setMaxListeners } from 'node:events'
import { randomConnectedPeer, requestJson } from '../json-exchange.js'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { TopicValidatorResult, type GossipSub, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Connection, Libp2pEvents, Logger, PeerId, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { lpStream, repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { z } from 'zod'
import { decodeJson, encodeJson } from '../json-codec.js'
import { MAX_CATALOG_ENTRY_BYTES, verifyEntry, type ModuleCatalogEntry } from './catalog-entry.js'
import type { ModuleCatalog } from './catalog.js'
import { timeoutSignal } from '../signals.js'

/** Anti-entropy: pull a random neighbour's catalog this often (as the service catalog does). */
export const MODULE_SYNC_INTERVAL_MS = 30_000
/** Entries per gossip message. */
const MAX_GOSSIP_ENTRIES = 16
/** Largest sync answer: room for tens of thousands of versions. */
const MAX_SYNC_BYTES = 32 * 1024 * 1024
const SYNC_TIMEOUT_MS = 10_000

const gossipSchema = z.strictObject({ v: z.literal(1), entries: z.array(z.unknown()).min(1).max(MAX_GOSSIP_ENTRIES) })
/** what the puller holds: `name@version` -> root CID */
const syncRequestSchema = z.strictObject({ have: z.record(z.string().max(160), z.string().max(128)) })
const syncResponseSchema = z.strictObject({ entries: z.array(z.unknown()).max(1_000_000) })

export interface ReplicationComponents {
  pubsub: GossipSub
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
}

export interface ReplicationCounters {
  gossipRejected: number
  syncRejected: number
  pulls: number
}

/**
 * Keeps the module catalog the same on every node: a publish is gossiped at
 * once (gossipsub, StrictSign, every entry's own signature checked by the
 * topic validator), and a node pulls a neighbour's entries when it connects
 * and every MODULE_SYNC_INTERVAL_MS (what gossip missed: a node that was
 * down, a partition). Merging is order-free, so the two paths never race.
 */
export class CatalogReplication {
  readonly counters: ReplicationCounters = { gossipRejected: 0, syncRejected: 0, pulls: 0 }
  private readonly components: ReplicationComponents
  private readonly catalog: ModuleCatalog
  private readonly topic: string
  private readonly protocol: string
  private readonly log: Logger
  private controller?: AbortController
  private task?: RepeatingTask

  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.receive(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { void this.pull(evt.detail) }
  /**
   * A peer that starts listening on the topic may hold entries gossiped
   * before either side knew of the other (a publish racing a new
   * connection); pull from it then instead of at the next anti-entropy.
   */
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some(s => s.topic === this.topic && s.subscribe)) void this.pull(evt.detail.peerId)
  }

  constructor (components: ReplicationComponents, init: { catalog: ModuleCatalog, topic: string, protocol: string, log: Logger, syncIntervalMs?: number }) {
    this.components = components
    this.catalog = init.catalog
    this.topic = init.topic
    this.protocol = init.protocol
    this.log = init.log
    this.task = repeatingTask(async () => { await this.antiEntropy() }, init.syncIntervalMs ?? MODULE_SYNC_INTERVAL_MS)
  }

  async start (): Promise<void> {
    this.controller = new AbortController()
    setMaxListeners(Infinity, this.controller.signal)
    await this.components.registrar.handle(this.protocol, limitInbound(this.protocol, INBOUND_LIMITS.sync, (stream, connection) => { void this.serve(stream, connection) }), { maxInboundStreams: 4, maxOutboundStreams: 2 })
  }

  afterStart (): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, async (_peer, msg) => await this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscription)
    pubsub.subscribe(this.topic)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    for (const conn of this.components.connectionManager.getConnections()) void this.pull(conn.remotePeer)
    this.task?.start()
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    this.task?.stop()
    const { pubsub } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscription)
    pubsub.topicValidators.delete(this.topic)
    try { pubsub.unsubscribe(this.topic) } catch {}
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
  }

  /** Gossip a local publish; anti-entropy carries it if nobody is listening yet. */
  async announce (entry: ModuleCatalogEntry): Promise<void> {
    try {
      await this.components.pubsub.publish(this.topic, encodeJson({ v: 1, entries: [entry] }))
    } catch (err) {
      this.log.trace('module catalog publish failed: %e', err)
    }
  }

  private async validate (msg: Message): Promise<TopicValidatorResult> {
    if (msg.type !== 'signed' || msg.data.byteLength > MAX_GOSSIP_ENTRIES * MAX_CATALOG_ENTRY_BYTES) return this.reject()
    try {
      const { entries } = decodeJson(gossipSchema, msg.data)
      for (const e of entries) await verifyEntry(e)
      return TopicValidatorResult.Accept
    } catch {
      return this.reject()
    }
  }

  private reject (): TopicValidatorResult {
    this.counters.gossipRejected++
    return TopicValidatorResult.Reject
  }

  private async receive (msg: Message): Promise<void> {
    if (msg.topic !== this.topic) return
    try {
      await this.catalog.merge(decodeJson(gossipSchema, msg.data).entries, { signal: this.controller?.signal })
    } catch (err) {
      this.log.trace('bad module catalog gossip: %e', err)
    }
  }

  private async antiEntropy (): Promise<void> {
    const peer = randomConnectedPeer(this.components.connectionManager)
    if (peer != null) await this.pull(peer)
  }

  /** Send what this node holds; merge what the neighbour has and this node lacks (or holds differently). */
  async pull (peer: PeerId): Promise<number> {
    const signal = AbortSignal.any([this.controller?.signal ?? new AbortController().signal, timeoutSignal(SYNC_TIMEOUT_MS)])
    try {
      const have = Object.fromEntries(this.catalog.all().map(e => [`${e.name}@${e.version}`, e.cid]))
      const { entries } = await requestJson(this.components.connectionManager, peer, this.protocol, { have }, syncResponseSchema, { maxBytes: MAX_SYNC_BYTES, signal })
      const { applied, rejected } = await this.catalog.merge(entries, { signal })
      this.counters.pulls++
      this.counters.syncRejected += rejected
      return applied.length
    } catch (err: any) {
      this.log.trace('module catalog pull from %p failed: %e', peer, err)
      return 0
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(SYNC_TIMEOUT_MS)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_BYTES })
      let have: Record<string, string>
      try {
        have = decodeJson(syncRequestSchema, (await lp.read({ signal })).subarray()).have
      } catch (err) {
        this.counters.syncRejected++
        throw err
      }
      const entries = this.catalog.all().filter(e => have[`${e.name}@${e.version}`] !== e.cid)
      await lp.write(encodeJson({ entries }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.log.trace('module catalog sync with %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}
