import type { ComponentLogger, Libp2pEvents, Logger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { MemberEventView, ResolveView } from '../interface/api.js'
import { RpcClient, type CallOptions, type CallResult, type RpcClientCounters } from './client.js'
import { DEFAULT_MAX_MESSAGE_BYTES, RPC_PROTOCOL_SUFFIX } from './constants.js'
import type { LocalEndpoint } from './handlers.js'
import { RpcServer, type RpcServerCounters } from './server.js'

export { RpcClient, type CallOptions, type CallResult } from './client.js'
export { Balancer } from './balancer.js'
export { BUILTIN_HANDLERS, type Handler, type Invocation, type LocalEndpoint } from './handlers.js'
export * from './constants.js'

/** What RPC needs from the registry. */
export interface RpcRegistry {
  resolve: (service: string, options: { signal?: AbortSignal }) => Promise<ResolveView>
  localEndpoint: (service: string) => LocalEndpoint | undefined
  /** placed here as a module service, whether or not it runs yet */
  ownsModuleService?: (service: string) => boolean
}

/** What RPC needs from membership: member events (suspect, failed, left end the calls waiting on a member). */
export interface RpcMembership {
  addEventListener: (type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void) => void
  removeEventListener: (type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void) => void
}

export interface RpcComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  registry: RpcRegistry
  membership: RpcMembership
  /** module services this node runs (absent in nodes without the runtime) */
  runtime?: { endpoint: (service: string) => LocalEndpoint | undefined }
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface RpcInit {
  /** protocol ids are `${prefix}/rpc/1.0.0`. @default '/noodle' */
  protocolPrefix?: string
  /** largest request or response payload. @default DEFAULT_MAX_MESSAGE_BYTES */
  maxMessageBytes?: number
}

export interface RpcStats {
  client: RpcClientCounters & { ejections: number }
  server: RpcServerCounters
}

/**
 * Mesh RPC (`/noodle/rpc/1.0.0`): call any service from any daemon
 * (`call`), and serve the calls that reach this daemon's own instances.
 */
export class Rpc implements Startable {
  readonly protocol: string
  readonly maxMessageBytes: number
  private readonly components: RpcComponents
  private readonly server: RpcServer
  private readonly client: RpcClient
  private readonly log: Logger
  private started = false

  private readonly onMember = (evt: CustomEvent<MemberEventView>): void => {
    const e = evt.detail
    if (e.type === 'suspect') this.client.memberSuspect(e.peerId)
    else if (e.type === 'failed' || e.type === 'left') this.client.memberDown(e.peerId, e.type)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.client.memberDown(evt.detail.toString(), 'disconnected')
  }

  constructor (components: RpcComponents, init: RpcInit = {}) {
    this.components = components
    this.protocol = `${init.protocolPrefix ?? '/noodle'}${RPC_PROTOCOL_SUFFIX}`
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.log = components.logger.forComponent('noodled:rpc')
    this.server = new RpcServer(components.registrar, {
      protocol: this.protocol,
      maxMessageBytes: this.maxMessageBytes,
      localEndpoint: (service) => components.runtime?.endpoint(service) ?? components.registry.localEndpoint(service),
      starting: (service) => components.registry.ownsModuleService?.(service) ?? false,
      log: this.log
    })
    this.client = new RpcClient({
      self: components.peerId.toString(),
      protocol: this.protocol,
      maxMessageBytes: this.maxMessageBytes,
      connectionManager: components.connectionManager,
      resolve: async (service, options) => components.registry.resolve(service, options),
      invokeLocal: async (service, fn, payload, timeoutMs) => this.server.invoke(service, fn, payload, timeoutMs),
      log: this.log
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/rpc'

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    await this.server.start()
    this.components.membership.addEventListener('member', this.onMember)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    this.components.membership.removeEventListener('member', this.onMember)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.client.close()
    await this.server.stop()
  }

  /**
   * Call `fn` of `service` on one of its live instances, wherever it runs.
   * Throws ServiceNotFoundError (nobody knows the service), NoInstanceError
   * (no live instance), DeadlineExceededError, PayloadTooLargeError,
   * InstanceUnreachableError (the instance failed and the call could not be
   * retried), or the error the service itself answered with.
   */
  async call (service: string, fn: string, payload: Uint8Array, options: CallOptions = {}): Promise<CallResult> {
    return this.client.call(service, fn, payload, options)
  }

  stats (): RpcStats {
    return { client: { ...this.client.counters, ejections: this.client.balancer.ejections }, server: { ...this.server.counters } }
  }
}

export function rpc (init: RpcInit = {}): (components: RpcComponents) => Rpc {
  return (components) => new Rpc(components, init)
}
