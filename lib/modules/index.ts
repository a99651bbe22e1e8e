import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, Libp2pEvents, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import type { ModuleFetchProgressView } from '../interface/api.js'
import type { ModuleCatalogGuard } from './catalog.js'
import { Modules } from './modules.js'

export { parseManifest, type Manifest } from './manifest.js'
export { readModuleDir } from './module-dir.js'
export { resolveModules, type Resolution } from './resolver.js'

export interface ModulesInit {
  /** where blocks live; in memory when absent (tests) */
  blockstore?: Blockstore
  /** @default '/noodle' */
  protocolPrefix?: string
  /** anti-entropy of the module catalog. @default MODULE_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
}

export interface ModulesComponents {
  peerId: PeerId
  privateKey: PrivateKey
  datastore: Datastore
  pubsub: GossipSub
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  dht?: KadDHT
  /** capability tokens and the audit trail (lib/auth) */
  auth?: ModuleCatalogGuard & { authorize: (can: 'module/publish', resource: string, value: unknown, type: 'publish') => Promise<string | undefined> }
}

export interface FetchOptions extends AbortOptions {
  includePrerelease?: boolean
  onProgress?: (progress: ModuleFetchProgressView) => void
  /** peers known to hold the modules (a service's running instances), asked first */
  likelyHolders?: PeerId[]
}

export { ModuleCatalog } from './catalog.js'
export { Modules } from './modules.js'

export function modules (init: ModulesInit = {}): (components: ModulesComponents) => Modules {
  return (components) => new Modules(components, init)
}
