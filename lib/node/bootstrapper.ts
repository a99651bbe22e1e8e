import { setTimeout as sleep } from 'node:timers/promises'
import { TypedEventEmitter, type ComponentLogger, type Libp2pEvents, type Logger, type PeerId, type PeerStore, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { backoffDelay, type BackoffInit } from './backoff.js'
import { DIAL_TIMEOUT_MS, MIN_CONNECTIONS, REMEMBERED_PEERS_TO_DIAL } from './constants.js'
import { lifetimeController, timeoutSignal } from '../signals.js'

export interface BootstrapperInit {
  /** multiaddrs to join through; `/p2p/<id>` is optional */
  list?: string[]
  backoff?: BackoffInit
  /** @default REMEMBERED_PEERS_TO_DIAL */
  rememberedPeers?: number
  /** dial discovered peers while below this many connections. @default MIN_CONNECTIONS */
  minConnections?: number
  /** @default DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number
}

export interface BootstrapperComponents {
  peerId: PeerId
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface BootstrapConnectedDetail { addr: string, peerId: string }
export interface BootstrapRetryDetail { addr: string, attempt: number, delayMs: number, error: string }
export interface RememberedDetail { dialed: number, connected: number }

/** Where each bootstrap address stands; `self` addresses are this node and are never dialled. */
export type BootstrapState = 'dialing' | 'retrying' | 'connected' | 'self'

export interface BootstrapperEvents {
  'bootstrap:connected': CustomEvent<BootstrapConnectedDetail>
  'bootstrap:retry': CustomEvent<BootstrapRetryDetail>
  'remembered:dialed': CustomEvent<RememberedDetail>
}

/**
 * Joins the mesh and keeps the node from being left alone:
 * - redials peers remembered in the (persistent) peer store from earlier runs;
 * - dials each bootstrap address, retrying with exponential backoff while it
 *   is unreachable, and again whenever this node has lost every connection;
 * - dials newly discovered peers (DHT query results) while it has fewer than
 *   `minConnections`, so a three-node mesh does not stay a star.
 * Unlike `@libp2p/bootstrap` it accepts addresses without a peer id and
 * retries forever, which is what an operator's bootstrap list needs.
 */
export class Bootstrapper extends TypedEventEmitter<BootstrapperEvents> implements Startable {
  private readonly components: BootstrapperComponents
  private readonly list: Multiaddr[]
  private readonly backoff: BackoffInit
  private readonly rememberedPeers: number
  private readonly minConnections: number
  private readonly dialTimeoutMs: number
  private readonly log: Logger
  private controller?: AbortController
  private readonly onDiscovery: (evt: CustomEvent<{ id: PeerId }>) => void
  private readonly onDisconnect: () => void
  private isolatedWaiters: Array<() => void> = []
  private readonly states = new Map<string, BootstrapState>()
  /** discovery dials in flight; they count toward minConnections */
  private readonly pending = new Set<string>()

  constructor (components: BootstrapperComponents, init: BootstrapperInit = {}) {
    super()
    this.components = components
    this.list = (init.list ?? []).map(a => multiaddr(a))
    this.backoff = init.backoff ?? {}
    this.rememberedPeers = init.rememberedPeers ?? REMEMBERED_PEERS_TO_DIAL
    this.minConnections = init.minConnections ?? MIN_CONNECTIONS
    this.dialTimeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS
    this.log = components.logger.forComponent('noodled:bootstrapper')
    this.onDiscovery = (evt) => { this.dialDiscovered(evt.detail.id) }
    this.onDisconnect = () => {
      if (this.components.connectionManager.getConnections().length === 0) {
        const waiters = this.isolatedWaiters
        this.isolatedWaiters = []
        waiters.forEach(w => { w() })
      }
    }
  }

  readonly [Symbol.toStringTag] = 'noodled/bootstrapper'

  /** The state of each bootstrap address, by address. */
  status (): Record<string, BootstrapState> {
    return Object.fromEntries(this.states)
  }

  isStarted (): boolean {
    return this.controller != null
  }

  start (): void {
    if (this.controller != null) return
    this.controller = lifetimeController()
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  /** Dials begin once every service has started (identify and the DHT must handle the new connections). */
  afterStart (): void {
    const signal = this.controller?.signal
    if (signal == null) return
    this.dialRemembered(signal).catch(err => {
      if (!signal.aborted) this.log.error('redialing remembered peers failed: %e', err)
    })
    for (const addr of this.list) {
      this.joinLoop(addr, signal).catch(err => {
        if (!signal.aborted) this.log.error('bootstrap loop for %a failed: %e', addr, err)
      })
    }
  }

  stop (): void {
    this.controller?.abort()
    this.controller = undefined
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    const waiters = this.isolatedWaiters
    this.isolatedWaiters = []
    waiters.forEach(w => { w() })
  }

  private async dialRemembered (signal: AbortSignal): Promise<void> {
    const self = this.components.peerId
    const peers = (await this.components.peerStore.all({ signal }))
      .filter(p => !p.id.equals(self) && p.addresses.length > 0)
      .sort(() => Math.random() - 0.5)
      .slice(0, this.rememberedPeers)
    if (peers.length === 0) return
    const results = await Promise.allSettled(peers.map(async p => this.dial(p.id, signal)))
    const connected = results.filter(r => r.status === 'fulfilled').length
    this.log('redialed %d remembered peers, %d connected', peers.length, connected)
    this.safeDispatchEvent('remembered:dialed', { detail: { dialed: peers.length, connected } })
  }

  private async joinLoop (addr: Multiaddr, signal: AbortSignal): Promise<void> {
    if (addr.getComponents().some(c => c.name === 'p2p' && c.value === this.components.peerId.toString())) {
      // a shared bootstrap list often names this node too
      this.log('skipping bootstrap address %a: it is this node', addr)
      this.states.set(addr.toString(), 'self')
      return
    }
    let attempt = 0
    while (!signal.aborted) {
      try {
        this.states.set(addr.toString(), 'dialing')
        const conn = await this.dial(addr, signal)
        attempt = 0
        this.states.set(addr.toString(), 'connected')
        this.safeDispatchEvent('bootstrap:connected', { detail: { addr: addr.toString(), peerId: conn.remotePeer.toString() } })
        await this.untilIsolated(signal)
      } catch (err: any) {
        if (signal.aborted) return
        if (isSelfDial(err)) {
          this.log('bootstrap address %a is this node; not retrying', addr)
          this.states.set(addr.toString(), 'self')
          return
        }
        attempt++
        const delayMs = backoffDelay(attempt, this.backoff)
        this.states.set(addr.toString(), 'retrying')
        this.log('bootstrap dial to %a failed (attempt %d), retrying in %d ms: %e', addr, attempt, delayMs, err)
        this.safeDispatchEvent('bootstrap:retry', { detail: { addr: addr.toString(), attempt, delayMs, error: err.message ?? String(err) } })
        try {
          await sleep(delayMs, undefined, { signal })
        } catch {
          return
        }
      }
    }
  }

  /** Resolves when this node has no connections left (or on stop). */
  private async untilIsolated (signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    await new Promise<void>(resolve => { this.isolatedWaiters.push(resolve) })
  }

  /**
   * Dials in flight count toward minConnections: a newcomer's member list
   * adds every member to the peer store at once, and each is a
   * `peer:discovery` event while the newcomer still has one connection. A
   * 50-daemon mesh's late joiner dialled all 49 members at once (49
   * handshakes on a busy host) before this.
   */
  private dialDiscovered (peer: PeerId): void {
    const signal = this.controller?.signal
    const cm = this.components.connectionManager
    const key = peer.toString()
    if (signal == null || signal.aborted || peer.equals(this.components.peerId) || this.pending.has(key)) return
    if (cm.getConnections().length + this.pending.size >= this.minConnections || cm.getConnections(peer).length > 0) return
    this.pending.add(key)
    this.dial(peer, signal)
      .catch(err => {
        this.log.trace('dial to discovered peer %p failed: %e', peer, err)
      })
      .finally(() => { this.pending.delete(key) })
  }

  private async dial (target: PeerId | Multiaddr, signal: AbortSignal): Promise<import('@libp2p/interface').Connection> {
    return this.components.connectionManager.openConnection(target, {
      signal: AbortSignal.any([signal, timeoutSignal(this.dialTimeoutMs)])
    })
  }
}

function isSelfDial (err: any): boolean {
  return /dial self/i.test(String(err?.message))
}

export function bootstrapper (init: BootstrapperInit = {}): (components: BootstrapperComponents) => Bootstrapper {
  return (components) => new Bootstrapper(components, init)
}
