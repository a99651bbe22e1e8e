/** Datastore prefix of the service catalog: one key per service name. */
export const CATALOG_PREFIX = '/noodle/catalog/services'
/**
 * Tombstones are kept this long, then forgotten. A replica offline for longer
 * than this could bring a deleted service back, so it is long: a week.
 */
export const TOMBSTONE_TTL_MS = 7 * 24 * 3600_000
/** A catalog entry on the wire or on disk is refused above this size. */
export const MAX_ENTRY_BYTES = 48 * 1024
export const CATALOG_TOPIC_SUFFIX = '/services/1'
export const CATALOG_SYNC_PROTOCOL_SUFFIX = '/catalog/sync/1.0.0'
/** A gossiped catalog message or a sync answer is refused above these sizes. */
export const MAX_CATALOG_MESSAGE_BYTES = 128 * 1024
export const MAX_CATALOG_SYNC_BYTES = 16 * 1024 * 1024
/** Anti-entropy: a random neighbour's newer entries are pulled this often (and once at start). */
export const CATALOG_SYNC_INTERVAL_MS = 30_000
/** Datastore prefix of external service registrations: one key per name. */
export const EXTERNAL_PREFIX = '/noodle/external'
/** External services one daemon may host (its adverts list at most 64 services). */
export const MAX_EXTERNAL_SERVICES = 64
/** Reconcile at least this often, besides on every catalog and membership change. */
export const RECONCILE_INTERVAL_MS = 5_000
/** A burst of catalog and membership changes is reconciled once, this long after it started. */
export const RECONCILE_DEBOUNCE_MS = 100
/** How long resolve waits for DHT provider records when nothing local names the service. */
export const DHT_LOOKUP_TIMEOUT_MS = 3_000
/** A DHT put or provide gives up after this long (it is retried on the next write or start). */
export const DHT_WRITE_TIMEOUT_MS = 30_000
