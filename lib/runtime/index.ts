import type { ComponentLogger, Metrics, PeerId } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'
import type { Membership } from '../membership/index.js'
import type { Modules } from '../modules/index.js'
import type { Registry } from '../registry/registry.js'
import type { NodePolicy } from './grants.js'
import { Runtime } from './runtime.js'

export { DEFAULT_POLICY, grantFor, type Grant, type NodePolicy } from './grants.js'
export { ModulePool } from './pool.js'
export { Runtime } from './runtime.js'
export * from './constants.js'

export interface RuntimeInit {
  policy?: NodePolicy
  /** workers a module service gets here when its spec asks for none; @default DEFAULT_WORKERS_PER_SERVICE */
  instancesPerService?: number
  /** how long a new version is watched for an error-rate spike after an update; @default DEFAULT_PROBATION_MS */
  probationMs?: number
  /** Extism workers kept started for new instances (0: none); @default DEFAULT_SPARE_WORKERS */
  spareWorkers?: number
  /** @default '/noodle' */
  protocolPrefix?: string
}

/** What the runtime needs of the registry: the replicas placement gives this node, a service's instances and owners. */
export type RuntimeRegistry = Pick<Registry, 'reconciler' | 'status' | 'placement'>
/** What the runtime needs of the module subsystem: fetch, resolve and read modules, and their catalog. */
export type RuntimeModules = Pick<Modules, 'fetch' | 'resolve' | 'catalog' | 'store'>
/** What the runtime needs of membership: the worker slots it may take, a way to advertise those taken, and the members (owners' addresses). */
export type RuntimeMembership = Pick<Membership, 'slotsTotal' | 'setSlotsUsed' | 'members'>

export interface RuntimeComponents {
  registry: RuntimeRegistry
  modules: RuntimeModules
  datastore: Datastore
  logger: ComponentLogger
  /** advertises the worker slots taken; absent in unit tests */
  membership?: RuntimeMembership
  metrics?: Metrics
  /** the runtime status protocol (rolling updates, mesh-wide history); absent in unit tests */
  peerId?: PeerId
  registrar?: Registrar
  connectionManager?: ConnectionManager
  /** mesh calls for modules granted `call` */
  rpc?: { call: (service: string, fn: string, payload: Uint8Array, options: { timeoutMs: number, signal: AbortSignal }) => Promise<{ payload: Uint8Array }> }
}

export function runtime (init: RuntimeInit = {}): (components: RuntimeComponents) => Runtime {
  return (components) => new Runtime(components, init)
}
