export { ServiceCatalog, type ServiceCatalogInit, type ServiceCatalogEvents, type MergeResult } from './catalog.js'
export { catalogEntrySchema, decodeEntry, encodeEntry, newer, type CatalogEntry } from './entry.js'
export { ServiceNotFoundError, InvalidCatalogEntryError } from './errors.js'
export { TOMBSTONE_TTL_MS } from './constants.js'
