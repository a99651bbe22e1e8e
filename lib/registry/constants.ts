/** Datastore prefix of the service catalog: one key per service name. */
export const CATALOG_PREFIX = '/noodle/catalog/services'
/**
 * Tombstones are kept this long, then forgotten. A replica offline for longer
 * than this could bring a deleted service back, so it is long: a week.
 */
export const TOMBSTONE_TTL_MS = 7 * 24 * 3600_000
/** A catalog entry on the wire or on disk is refused above this size. */
export const MAX_ENTRY_BYTES = 16 * 1024
