/** Workers (sandboxed instances) per module service on one node, when its spec asks for none. */
export const DEFAULT_WORKERS_PER_SERVICE = 2
/** The longest a new version's `health` may take before it is judged failed. */
export const HEALTH_TIMEOUT_MS = 5_000
/** Versions remembered per service. */
export const HISTORY = 20
/** A load that failed with nothing running is tried again after this, doubling up to RETRY_MAX_MS. */
export const RETRY_MS = 2_000
export const RETRY_MAX_MS = 60_000
/** A catalog change retries failed loads after this (one retry for a burst of versions). */
export const CATALOG_RETRY_MS = 100
/** After an update switches, the new version is watched this long for an error-rate spike (rollout.ts); the next owner waits for it. */
export const DEFAULT_PROBATION_MS = 10_000
export const PROBATION_CHECK_MS = 250
/** A WebAssembly page: a grant's memory is counted in these. */
export const PAGE_BYTES = 64 * 1024
/** Log lines one call of a module may write (Extism's log functions); the rest are counted in one line. */
export const LOG_LINES_PER_CALL = 100
/** Characters of one module log line kept. */
export const LOG_LINE_CHARS = 4096
/** One started worker waiting for the next instance: a cold start without the thread's ~50 ms start. */
export const DEFAULT_SPARE_WORKERS = 1
