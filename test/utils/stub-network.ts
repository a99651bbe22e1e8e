import { generateKeyPair } from '@libp2p/crypto/keys'
import { TopicValidatorResult, type GossipSub, type Message, type TopicValidatorFn } from '@libp2p/gossipsub'
import { defaultLogger } from '@libp2p/logger'
import { TypedEventEmitter, type Connection, type Libp2pEvents, type PeerId, type PrivateKey, type Stream, type StreamHandler } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'

/**
 * Stubbed libp2p components for unit specs, in the js-libp2p habit: no
 * transports, no Noise, no yamux, no gossipsub. A registrar keeps handlers;
 * a connection manager opens in-memory stream pairs (`@libp2p/utils`
 * streamPair) to a connected peer's handler; a pubsub delivers a publish to
 * every connected subscriber, after that subscriber's topic validator.
 * Peers are connected by `connect`, and cut by `disconnect`.
 */
export class StubNetwork {
  readonly peers: StubPeer[] = []

  async peer (): Promise<StubPeer> {
    const key = await generateKeyPair('Ed25519')
    const peer = new StubPeer(this, key)
    this.peers.push(peer)
    return peer
  }

  async peersOf (n: number): Promise<StubPeer[]> {
    const out: StubPeer[] = []
    for (let i = 0; i < n; i++) out.push(await this.peer())
    return out
  }

  byId (id: PeerId | string): StubPeer | undefined {
    return this.peers.find(p => p.peerId.toString() === id.toString())
  }

  /** Connect two peers both ways; each side's `peer:connect` fires. */
  connect (a: StubPeer, b: StubPeer): void {
    if (a.connected.has(b.id)) return
    a.connected.add(b.id)
    b.connected.add(a.id)
    a.events.safeDispatchEvent('peer:connect', { detail: b.peerId })
    b.events.safeDispatchEvent('peer:connect', { detail: a.peerId })
  }

  disconnect (a: StubPeer, b: StubPeer): void {
    a.connected.delete(b.id)
    b.connected.delete(a.id)
    a.events.safeDispatchEvent('peer:disconnect', { detail: b.peerId })
    b.events.safeDispatchEvent('peer:disconnect', { detail: a.peerId })
  }
}

export class UnreachablePeerError extends Error {
  override name = 'UnreachablePeerError'
}

/** A peer's stubbed components; pass it (or a part of it) where a service wants its components. */
export class StubPeer {
  readonly peerId: PeerId
  readonly privateKey: PrivateKey
  readonly id: string
  readonly events = new TypedEventEmitter<Libp2pEvents>()
  readonly connected = new Set<string>()
  readonly handlers = new Map<string, StreamHandler>()
  readonly registrar: Registrar
  readonly connectionManager: ConnectionManager
  readonly pubsub: StubPubSub
  /** the stubbed pubsub, typed as the gossipsub that services take */
  get gossip (): GossipSub {
    return this.pubsub as unknown as GossipSub
  }

  /** A component logger that logs nothing. */
  readonly logger = defaultLogger()

  /** streams opened from this peer, by protocol */
  readonly opened = new Map<string, number>()
  private readonly network: StubNetwork

  constructor (network: StubNetwork, key: PrivateKey) {
    this.network = network
    this.privateKey = key
    this.peerId = peerIdFromPrivateKey(key)
    this.id = this.peerId.toString()
    this.pubsub = new StubPubSub(this)
    const handlers = this.handlers
    this.registrar = {
      handle: async (protocol: string, handler: StreamHandler) => {
        if (handlers.has(protocol)) throw new Error(`${protocol} is handled already`)
        handlers.set(protocol, handler)
      },
      unhandle: async (protocol: string) => { handlers.delete(protocol) },
      getProtocols: () => [...handlers.keys()]
    } as unknown as Registrar
    this.connectionManager = {
      getConnections: (peer?: PeerId) => this.connectedPeers()
        .filter(p => peer == null || peer.equals(p.peerId))
        .map(p => this.connection(p)),
      openStream: async (peer: PeerId, protocol: string) => await this.openStream(peer, protocol),
      openConnection: async (peer: PeerId) => {
        const other = network.byId(peer)
        if (other == null) throw new UnreachablePeerError(`no peer ${peer.toString()}`)
        network.connect(this, other)
        return this.connection(other)
      }
    } as unknown as ConnectionManager
  }

  /** A stub connection to `other`: enough for handlers (remotePeer) and for callers that open streams on it. */
  connection (other: StubPeer): Connection {
    return {
      remotePeer: other.peerId,
      status: 'open',
      newStream: async (protocol: string) => await this.openStream(other.peerId, protocol),
      abort: () => { this.network.disconnect(this, other) },
      close: async () => { this.network.disconnect(this, other) }
    } as unknown as Connection
  }

  /** The peers this one is connected to. */
  connectedPeers (): StubPeer[] {
    return [...this.connected].map(id => this.network.byId(id)).filter((p): p is StubPeer => p != null)
  }

  async openStream (peer: PeerId, protocol: string): Promise<Stream> {
    const other = this.network.byId(peer)
    if (other == null || !this.connected.has(other.id)) throw new UnreachablePeerError(`not connected to ${peer.toString()}`)
    const handler = other.handlers.get(protocol)
    if (handler == null) throw new Error(`${peer.toString()} does not handle ${protocol}`)
    const [outbound, inbound] = await streamPair({ protocol })
    this.opened.set(protocol, (this.opened.get(protocol) ?? 0) + 1)
    void Promise.resolve(handler(inbound, other.connection(this))).catch(() => {})
    return outbound
  }
}

interface StubPubSubEvents {
  message: CustomEvent<Message>
}

/** Gossip reduced to its contract: a publish reaches each connected subscriber whose validator accepts it. */
export class StubPubSub extends TypedEventEmitter<StubPubSubEvents> {
  readonly topicValidators = new Map<string, TopicValidatorFn>()
  readonly topics = new Set<string>()
  /** every message this peer published */
  readonly published: Array<{ topic: string, data: Uint8Array }> = []
  /** what each validator here answered, in order */
  readonly verdicts: TopicValidatorResult[] = []
  private readonly self: StubPeer
  private seq = 0n

  constructor (self: StubPeer) {
    super()
    this.self = self
  }

  subscribe (topic: string): void { this.topics.add(topic) }
  unsubscribe (topic: string): void { this.topics.delete(topic) }
  getSubscribers (topic: string): PeerId[] {
    return this.others().filter(p => p.pubsub.topics.has(topic)).map(p => p.peerId)
  }

  async publish (topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }> {
    this.published.push({ topic, data })
    const recipients: PeerId[] = []
    for (const peer of this.others()) {
      if (!peer.pubsub.topics.has(topic)) continue
      const msg = { type: 'signed', from: this.self.peerId, topic, data, sequenceNumber: ++this.seq, signature: new Uint8Array(64), key: this.self.peerId.publicKey } as unknown as Message
      if (await peer.pubsub.deliver(this.self.peerId, msg)) recipients.push(peer.peerId)
    }
    return { recipients }
  }

  /** A message from `from`: validated here, then dispatched; true when it was accepted. */
  async deliver (from: PeerId, msg: Message): Promise<boolean> {
    const validate = this.topicValidators.get(msg.topic)
    const verdict = validate == null ? TopicValidatorResult.Accept : await validate(from, msg)
    this.verdicts.push(verdict)
    if (verdict !== TopicValidatorResult.Accept) return false
    this.safeDispatchEvent('message', { detail: msg })
    return true
  }

  private others (): StubPeer[] {
    return this.self.connectedPeers()
  }
}
