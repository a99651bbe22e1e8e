import { TopicValidatorResult, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { AbortOptions, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { lpStream, repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { z } from 'zod'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { connectedPeerSample, randomConnectedPeer, requestJson } from '../json-exchange.js'
import { lifetimeController, timeoutSignal } from '../signals.js'
import type { ReplicatedSet, ReplicationWire, ReplicatorComponents, ReplicatorCounters, ReplicatorInit } from './index.js'

/** A pull's whole exchange, both sides, unless the set says otherwise. */
const DEFAULT_SYNC_TIMEOUT_MS = 10_000
/**
 * Entries learnt by a pull are pushed on once per this long: a burst of
 * writes (a simulation deploys 20 services at once) is forwarded once, not
 * once per entry.
 */
const FORWARD_DEBOUNCE_MS = 250

/**
 * Keeps one replicated set the same on every node, the way Serf and
 * memberlist spread state: a local write is gossiped at once (gossipsub,
 * StrictSign, the set's own verification in the topic validator) and pushed
 * to a few connected peers, which pull it (push-pull); each node pulls what
 * it lacks from a random connected peer every `syncIntervalMs`
 * (anti-entropy, Demers et al., "Epidemic algorithms for replicated database
 * maintenance", 1987), and from peers as they connect, so a node that was
 * down or cut off catches up. A pull sends a digest of what the puller holds
 * and receives only what it lacks; the set's merge is order-free, so the
 * three paths never race.
 */
export class Replicator<Digest> implements Startable {
  readonly counters: ReplicatorCounters = { gossipRejected: 0, syncRejected: 0, pulls: 0 }
  private readonly components: ReplicatorComponents
  private readonly init: ReplicatorInit<Digest>
  private readonly set: ReplicatedSet<Digest>
  private readonly log: Logger
  private readonly gossipSchema: z.ZodType<Record<string, unknown>>
  private readonly requestSchema: z.ZodType<Record<string, unknown>>
  private readonly responseSchema: z.ZodType<Record<string, unknown>>
  private readonly timeoutMs: number
  private controller?: AbortController
  private task?: RepeatingTask
  private forwardTimer?: ReturnType<typeof setTimeout>
  private started = false
  private caught = false

  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.receive(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    if (this.init.pullOnConnect === 'always' || !this.caught) void this.pull(evt.detail)
  }

  /**
   * A peer that starts listening on the topic may hold entries gossiped
   * before either side knew of the other (a write racing a new connection).
   */
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some(s => s.topic === this.init.topic && s.subscribe)) void this.pull(evt.detail.peerId)
  }

  constructor (components: ReplicatorComponents, init: ReplicatorInit<Digest>) {
    this.components = components
    this.init = init
    this.set = init.set
    this.log = init.log
    this.timeoutMs = init.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS
    const schemas = wireSchemas(init.wire)
    this.gossipSchema = schemas.gossip
    this.requestSchema = schemas.request
    this.responseSchema = schemas.response
  }

  readonly [Symbol.toStringTag] = 'noodled/replicator'

  /** The gossipsub topic of the set's writes. */
  get topic (): string {
    return this.init.topic
  }

  /** True once a pull has succeeded: this node has caught up with a neighbour at least once. */
  get caughtUp (): boolean {
    return this.caught
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = lifetimeController()
    const { protocol } = this.init
    await this.components.registrar.handle(protocol, limitInbound(protocol, INBOUND_LIMITS.sync, (stream, connection) => { void this.serve(stream, connection) }), { maxInboundStreams: 4, maxOutboundStreams: 2 })
    this.started = true
  }

  /** Joins the topic and starts pulling: after start, once every service is up (pubsub among them). */
  afterStart (): void {
    if (!this.started || this.task != null) return
    const { pubsub, events, connectionManager } = this.components
    pubsub.topicValidators.set(this.init.topic, (_peer, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    if (this.init.pullOnSubscribe === true) pubsub.addEventListener('subscription-change', this.onSubscription)
    pubsub.subscribe(this.init.topic)
    for (const conn of connectionManager.getConnections()) void this.pull(conn.remotePeer)
    events.addEventListener('peer:connect', this.onConnect)
    this.task = repeatingTask(async () => { await this.antiEntropy() }, this.init.syncIntervalMs)
    this.task.start()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller?.abort()
    this.task?.stop()
    this.task = undefined
    clearTimeout(this.forwardTimer)
    this.forwardTimer = undefined
    const { pubsub, events } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscription)
    pubsub.topicValidators.delete(this.init.topic)
    try { pubsub.unsubscribe(this.init.topic) } catch {}
    events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.init.protocol)
  }

  /**
   * A local write reaches the mesh: gossiped, and `pushPeers` connected peers
   * are asked to pull (each sees from this node's digest that it holds
   * something newer, and pulls it back). A failed publish (no topic peers yet)
   * is left to the pushes and anti-entropy.
   */
  async announce (entries: unknown[]): Promise<void> {
    try {
      await this.components.pubsub.publish(this.init.topic, encodeJson(this.gossipMessage(entries)))
    } catch (err) {
      this.log.trace('%s publish failed: %e', this.init.name, err)
    }
    this.push(this.init.pushPeers ?? 0)
  }

  /** Pulls from a random connected peer (the periodic anti-entropy round, or sooner). */
  async antiEntropy (): Promise<void> {
    const peer = randomConnectedPeer(this.components.connectionManager)
    if (peer != null) await this.pull(peer)
  }

  /**
   * Asks `peer` for what this node lacks (by digest) and merges it; resolves
   * with the number of entries applied. A failure is logged and counted as
   * nothing learnt: anti-entropy tries again.
   */
  async pull (peer: PeerId, options: AbortOptions = {}): Promise<number> {
    const signal = AbortSignal.any([this.controller?.signal ?? new AbortController().signal, options.signal ?? timeoutSignal(this.timeoutMs)])
    const { wire } = this.init
    try {
      const answer = await requestJson(this.components.connectionManager, peer, this.init.protocol, { [wire.requestField]: this.set.digest() }, this.responseSchema, { maxBytes: wire.maxResponseBytes, signal })
      const { applied, rejected } = await this.set.merge(answer[wire.responseField] as unknown[], { signal })
      this.counters.pulls++
      this.counters.syncRejected += rejected
      this.caught = true
      if (applied.length > 0) this.forward(peer.toString())
      return applied.length
    } catch (err: any) {
      this.log.trace('%s pull from %p failed: %e', this.init.name, peer, err)
      return 0
    }
  }

  /** Asks up to `max` connected peers, at random, to pull from this node; `except` the one just pulled from. */
  private push (max: number, except?: string): void {
    if (max <= 0) return
    for (const peer of connectedPeerSample(this.components.connectionManager, max, except)) void this.pull(peer)
  }

  /**
   * Entries learnt by a pull are pushed on as a writer pushes them: where
   * only the author may gossip its entries, a node that is not connected to
   * the writer, and whose topic mesh missed the write, would otherwise hear
   * of it only at anti-entropy. Fewer peers than a writer pushes to, since
   * every node that learns by a pull forwards: an epidemic with fanout f
   * misses about e^-f of the nodes gossip missed, and anti-entropy reaches
   * those. Entries learnt by gossip are not forwarded: gossip carries them on.
   */
  private forward (from: string): void {
    const peers = this.init.forwardPeers ?? 0
    if (peers <= 0 || this.forwardTimer != null || !this.started) return
    this.forwardTimer = setTimeout(() => {
      this.forwardTimer = undefined
      if (this.started) this.push(peers, from)
    }, FORWARD_DEBOUNCE_MS)
    this.forwardTimer.unref?.()
  }

  private gossipMessage (entries: unknown[]): Record<string, unknown> {
    return { ...(this.init.wire.gossipVersion ? { v: 1 } : {}), [this.init.wire.gossipField]: entries }
  }

  private entriesOf (data: Uint8Array): unknown[] {
    return decodeJson(this.gossipSchema, data)[this.init.wire.gossipField] as unknown[]
  }

  private validate (msg: Message): TopicValidatorResult | Promise<TopicValidatorResult> {
    if (msg.type !== 'signed' || msg.data.byteLength > this.init.wire.maxGossipBytes) return this.reject()
    let entries: unknown[]
    try {
      entries = this.entriesOf(msg.data)
    } catch {
      return this.reject()
    }
    if (this.set.verifyGossip == null) return TopicValidatorResult.Accept
    try {
      const checked = this.set.verifyGossip(entries, msg.from)
      if (checked == null) return TopicValidatorResult.Accept
      return checked.then(() => TopicValidatorResult.Accept, () => this.reject())
    } catch {
      return this.reject()
    }
  }

  private reject (): TopicValidatorResult {
    this.counters.gossipRejected++
    return TopicValidatorResult.Reject
  }

  private async receive (msg: Message): Promise<void> {
    if (msg.topic !== this.init.topic) return
    try {
      await this.set.merge(this.entriesOf(msg.data), { signal: this.controller?.signal })
    } catch (err) {
      this.log.trace('bad %s gossip: %e', this.init.name, err)
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(this.timeoutMs)
    const { wire } = this.init
    try {
      const lp = lpStream(stream, { maxDataLength: wire.maxRequestBytes })
      let theirs: Digest
      try {
        theirs = decodeJson(this.requestSchema, (await lp.read({ signal })).subarray())[wire.requestField] as Digest
      } catch (err) {
        this.counters.syncRejected++
        throw err
      }
      await lp.write(encodeJson({ [wire.responseField]: this.set.missing(theirs) }), { signal })
      await stream.close({ signal })
      // push-pull: the puller holds something newer (a node that has just written asks this way)
      if (this.set.behind?.(theirs) === true) void this.pull(connection.remotePeer)
    } catch (err: any) {
      this.log.trace('%s sync with %p failed: %e', this.init.name, connection.remotePeer, err)
      stream.abort(err)
    }
  }
}

/** The zod schemas of a set's three messages, built once from its wire description. */
function wireSchemas<Digest> (wire: ReplicationWire<Digest>): { gossip: z.ZodType<Record<string, unknown>>, request: z.ZodType<Record<string, unknown>>, response: z.ZodType<Record<string, unknown>> } {
  const entries = z.array(z.unknown())
  return {
    gossip: z.strictObject({
      ...(wire.gossipVersion ? { v: z.literal(1) } : {}),
      [wire.gossipField]: entries.min(1).max(wire.maxGossipEntries)
    }),
    request: z.strictObject({ [wire.requestField]: wire.digestSchema }),
    response: z.strictObject({ [wire.responseField]: entries.max(wire.maxResponseEntries) })
  }
}
