import { Registry, type RegistryComponents, type RegistryInit } from './registry.js'

export { ServiceCatalog, type ServiceCatalogInit, type ServiceCatalogEvents, type MergeResult } from './catalog.js'
export { catalogEntrySchema, decodeEntry, encodeEntry, newer, type CatalogEntry } from './entry.js'
export { ServiceNotFoundError, InvalidCatalogEntryError } from './errors.js'
export { TOMBSTONE_TTL_MS } from './constants.js'
export { Reconciler, type Replica, type ReconcileChanges, type ReconcilerEvents } from './reconciler.js'
export { ExternalServices, parseRegistration, registrationSchema, type ExternalInstance, type Registration } from './external.js'
export { checkSchema, runCheck, CHECK_TYPES, type Check, type CheckType, type CheckStatus, type CheckResult } from './checks.js'
export { localInstances, type DiscoveryMember, type LocalState } from './discovery.js'
export { encodeServiceRecord, decodeServiceRecord, serviceCid, SERVICE_RECORD_NAMESPACE } from './dht-record.js'
export { ServiceDht } from './service-dht.js'

export { Registry, type RegistryInit, type RegistryComponents, type ServiceStatus, type DeployResult } from './registry.js'

export function registry (init: RegistryInit = {}): (components: RegistryComponents) => Registry {
  return (components) => new Registry(components, init)
}
