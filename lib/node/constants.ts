/** Protocol ids are `${prefix}${suffix}`; the prefix is configurable (default `/noodle`). */
export const KAD_PROTOCOL_SUFFIX = '/kad/1.0.0'

/** Exponential backoff for unreachable bootstrap peers: 1 s, 2 s, 4 s ... 60 s, +-20 % jitter. */
export const BOOTSTRAP_MIN_BACKOFF_MS = 1_000
export const BOOTSTRAP_MAX_BACKOFF_MS = 60_000
export const BOOTSTRAP_JITTER = 0.2

/** On start, redial this many peers remembered in the peer store from earlier runs. */
export const REMEMBERED_PEERS_TO_DIAL = 8

/**
 * Below this many connections a node dials peers it discovers (DHT query
 * results, identify); membership's topology upkeep refines which ones.
 */
export const MIN_CONNECTIONS = 8

/** Per-dial deadline used by the bootstrapper and discovery dialer. */
export const DIAL_TIMEOUT_MS = 10_000
