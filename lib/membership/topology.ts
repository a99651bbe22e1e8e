import { peerIdFromString } from '@libp2p/peer-id'
import { KEEP_ALIVE, type Connection, type Logger, type PeerStore } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { TRIM_IDLE_AFTER_MS } from './constants.js'
import { ringNeighbours, type RingNeighbours } from './ring.js'
import type { Member } from './member-table.js'
import { timeoutSignal } from '../signals.js'

export interface TopologyInit {
  self: string
  /** ring successors each member probes (and keeps connections to) */
  monitors: number
  /** connections kept to random members besides the ring */
  randomPeers: number
  /** our probe protocol: its long-lived streams do not make a connection busy */
  probeProtocol: string
  dialTimeoutMs: number
  /** @default TRIM_IDLE_AFTER_MS */
  trimIdleAfterMs?: number
  log: Logger
}

export interface TopologyComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
}

/**
 * A partial view of the mesh, as HyParView and memberlist keep: each member
 * holds connections to its ring successors (which it probes), is held by its
 * ring predecessors (which probe it), and keeps `randomPeers` random members
 * for a well-connected gossip mesh that survives the loss of any one node.
 * Connections this node opened for anything else (DHT queries, indirect
 * probes, reconnecting failed members) are closed once idle, unless another
 * service tagged the peer keep-alive (kad-dht keeps its 20 closest peers
 * connected and redials them at once when they drop: closing those made a
 * reconnection storm). So a daemon's connection count stays near
 * 2 * (monitors + randomPeers) plus the DHT's neighbourhood instead of
 * growing to N - 1 (at 50 daemons on one host every newcomer otherwise
 * handshook with all 49 others).
 */
export class Topology {
  private readonly components: TopologyComponents
  private readonly init: TopologyInit
  private readonly random = new Set<string>()
  private ring: RingNeighbours = { successors: [], predecessors: [] }

  constructor (components: TopologyComponents, init: TopologyInit) {
    this.components = components
    this.init = init
  }

  /** Recompute the ring from the current member table (alive and suspect members count). */
  update (members: Member[]): RingNeighbours {
    const live = members.filter(m => m.status === 'alive' || m.status === 'suspect').map(m => m.peerId)
    this.ring = ringNeighbours(this.init.self, live, this.init.monitors)
    return this.ring
  }

  get monitors (): number {
    return this.init.monitors
  }

  get successors (): string[] {
    return this.ring.successors
  }

  get predecessors (): string[] {
    return this.ring.predecessors
  }


  /** Members whose connections are kept: ring neighbours both ways and the random view. */
  wanted (): Set<string> {
    return new Set([...this.ring.successors, ...this.ring.predecessors, ...this.random])
  }

  randomView (): string[] {
    return [...this.random]
  }

  /**
   * One round of upkeep: refresh the random view, dial what is wanted and
   * missing, and close idle connections this node opened to members it does
   * not want. (Failed members are tried again by the membership service's
   * reconnect, a few at a time, each with a push-pull.)
   */
  async upkeep (members: Member[], signal: AbortSignal): Promise<void> {
    const cm = this.components.connectionManager
    this.update(members)
    const connections = cm.getConnections()
    const connected = new Set(connections.map(c => c.remotePeer.toString()))
    const alive = new Set(members.filter(m => m.status === 'alive').map(m => m.peerId))
    for (const p of this.random) if (!alive.has(p)) this.random.delete(p)
    const ring = new Set([...this.ring.successors, ...this.ring.predecessors])
    for (const p of this.random) if (ring.has(p)) this.random.delete(p)
    if (this.random.size < this.init.randomPeers) {
      // prefer members already connected: no new handshake
      const pool = [...alive].filter(p => !ring.has(p) && !this.random.has(p)).sort(() => Math.random() - 0.5)
      pool.sort((a, b) => Number(connected.has(b)) - Number(connected.has(a)))
      for (const p of pool.slice(0, this.init.randomPeers - this.random.size)) this.random.add(p)
    }
    const dial = [...this.ring.successors, ...this.random].filter(p => alive.has(p) && !connected.has(p))
    await this.trim(connections, new Set(members.map(m => m.peerId)), signal)
    await Promise.allSettled(dial.map(async p => {
      await cm.openConnection(peerIdFromString(p), { signal: AbortSignal.any([signal, timeoutSignal(this.init.dialTimeoutMs)]) })
    }))
  }

  /**
   * Close outbound connections to members outside the view once they have
   * been idle a while (unless another service keeps the peer), and
   * duplicates: when both sides dialled at once, the side with the lower
   * peer id closes its outbound ones, so exactly one connection survives;
   * several outbound ones to one peer are cut down to one.
   */
  private async trim (connections: Connection[], members: Set<string>, signal: AbortSignal): Promise<void> {
    const wanted = this.wanted()
    const now = Date.now()
    const byPeer = new Map<string, Connection[]>()
    for (const conn of connections) {
      const peer = conn.remotePeer.toString()
      if (members.has(peer)) byPeer.set(peer, [...byPeer.get(peer) ?? [], conn])
    }
    for (const [peer, conns] of byPeer) {
      const idle = conns.filter(c => c.direction === 'outbound' && this.idle(c, now)).sort((a, b) => a.timeline.open - b.timeline.open)
      if (idle.length === 0) continue
      let close: Connection[]
      if (!wanted.has(peer) && !await this.keptAlive(conns[0]!, signal)) {
        close = idle
      } else if (conns.some(c => c.direction === 'inbound') && this.init.self < peer) {
        close = idle
      } else {
        // keep one of ours: a busy one if there is one, else the oldest idle one
        close = conns.some(c => c.direction === 'outbound' && !idle.includes(c)) ? idle : idle.slice(1)
      }
      for (const conn of close) {
        this.init.log.trace('closing idle connection to %s', peer)
        conn.close().catch(err => { conn.abort(err) })
      }
    }
  }

  /** Open long enough, with nothing on it but streams that live as long as the connection. */
  private idle (conn: Connection, now: number): boolean {
    return now - conn.timeline.open >= (this.init.trimIdleAfterMs ?? TRIM_IDLE_AFTER_MS) &&
      conn.streams.every(s => this.idleProtocol(s.protocol))
  }

  /** True when some service asked libp2p to keep this peer connected (a `keep-alive*` tag). */
  private async keptAlive (conn: Connection, signal: AbortSignal): Promise<boolean> {
    try {
      const peer = await this.components.peerStore.get(conn.remotePeer, { signal })
      return [...peer.tags.keys()].some(tag => tag.startsWith(KEEP_ALIVE))
    } catch {
      return false
    }
  }

  /** Streams that live as long as the connection and do not mean it is in use. */
  private idleProtocol (protocol: string | undefined): boolean {
    return protocol == null || protocol === this.init.probeProtocol || protocol.startsWith('/meshsub/')
  }
}
