import type { Logger, PeerId } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { RuntimeOwnerView, RuntimeServiceView } from '../interface/api.js'
import type { Membership } from '../membership/index.js'
import type { Registry } from '../registry/registry.js'
import { waitForTurn } from './rollout.js'
import { RUNTIME_STATUS_SUFFIX, RuntimeStatusProtocol } from './status-protocol.js'

export interface OwnersComponents {
  /** the owners of a service, by placement */
  registry: Pick<Registry, 'placement'>
  membership?: Pick<Membership, 'members'>
  peerId?: PeerId
  registrar?: Registrar
  connectionManager?: ConnectionManager
}

/**
 * What this node's runtime needs from the other owners of its services:
 * it answers their questions over the runtime status protocol, asks them
 * when waiting for its turn in a rolling update, and gathers their views
 * for the mesh-wide history. Without a registrar (unit tests) it asks
 * nobody and every turn is immediate.
 */
export class Owners {
  private readonly components: OwnersComponents
  private readonly protocol?: RuntimeStatusProtocol
  private readonly statusOf: (service: string) => RuntimeServiceView | undefined
  private readonly log: Logger

  constructor (components: OwnersComponents, init: { protocolPrefix?: string, statusOf: (service: string) => RuntimeServiceView | undefined, log: Logger }) {
    this.components = components
    this.statusOf = init.statusOf
    this.log = init.log
    if (components.registrar != null && components.connectionManager != null) {
      this.protocol = new RuntimeStatusProtocol({ registrar: components.registrar, connectionManager: components.connectionManager }, {
        protocol: `${init.protocolPrefix ?? '/noodle'}${RUNTIME_STATUS_SUFFIX}`,
        status: init.statusOf,
        log: init.log
      })
    }
  }

  async start (): Promise<void> {
    await this.protocol?.start()
  }

  async stop (): Promise<void> {
    await this.protocol?.stop()
  }

  /** Wait until it is this owner's turn to swap `service` to `cid` (rollout.ts). */
  async turn (service: string, cid: string, signal: AbortSignal): Promise<{ halt?: string }> {
    const { registry, membership, peerId } = this.components
    const protocol = this.protocol
    if (protocol == null || peerId == null) return {}
    return await waitForTurn({
      service,
      cid,
      self: peerId.toString(),
      owners: () => registry.placement().services.get(service)?.owners ?? [],
      query: async (peer, s, options) => await protocol.query(peer, s, options),
      alive: (peer) => { const m = membership?.members().find(m => m.peerId === peer); return m != null && (m.status === 'alive' || m.status === 'suspect') },
      signal,
      log: this.log
    })
  }

  /**
   * Each owner's view of a service (placement's owners, and this node if it
   * runs it), asked over the runtime status protocol: the mesh-wide history.
   */
  async history (service: string, options: { signal?: AbortSignal } = {}): Promise<RuntimeOwnerView[]> {
    const self = this.components.peerId?.toString()
    const owners = new Set(this.components.registry.placement().services.get(service)?.owners ?? [])
    if (self != null && this.statusOf(service) != null) owners.add(self)
    return await Promise.all([...owners].map(async (peerId): Promise<RuntimeOwnerView> => {
      if (peerId === self) return { peerId, view: this.statusOf(service) ?? null }
      if (this.protocol == null) return { peerId, view: null, error: 'this node cannot ask other owners' }
      try {
        return { peerId, view: await this.protocol.query(peerId, service, options) }
      } catch (err: any) {
        return { peerId, view: null, error: `${err.name ?? 'Error'}: ${err.message}` }
      }
    }))
  }
}
