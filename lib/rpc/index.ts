import type { ComponentLogger, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { MemberEventView, ResolveView } from '../interface/api.js'
import type { RpcClientCounters } from './client.js'
import type { LocalEndpoint } from './handlers.js'
import { Rpc } from './rpc.js'
import type { RpcServerCounters } from './server.js'

export { RpcClient, type CallOptions, type CallResult } from './client.js'
export { Balancer } from './balancer.js'
export { BUILTIN_HANDLERS, type Handler, type Invocation, type LocalEndpoint } from './handlers.js'
export * from './constants.js'
export { Rpc } from './rpc.js'

/** What RPC needs from the registry. */
export interface RpcRegistry {
  resolve: (service: string, options: { signal?: AbortSignal }) => Promise<ResolveView>
  /** resolve()'s answer when it is cached, without waiting; undefined otherwise */
  resolveCached?: (service: string) => ResolveView | undefined
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

export function rpc (init: RpcInit = {}): (components: RpcComponents) => Rpc {
  return (components) => new Rpc(components, init)
}
