/** Mesh RPC protocol id: `${prefix}${RPC_PROTOCOL_SUFFIX}`. */
export const RPC_PROTOCOL_SUFFIX = '/rpc/1.0.0'

/** Largest request or response payload (configurable, default 4 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/**
 * A frame holds a payload plus the request's names and ids; this much on top
 * of the payload limit is allowed before a frame counts as oversized.
 */
export const FRAME_OVERHEAD_BYTES = 4 * 1024
/** Service and function names on the wire are at most this long. */
export const MAX_NAME_LENGTH = 256

/** A call without a deadline of its own gets this one. */
export const DEFAULT_TIMEOUT_MS = 10_000
/** The longest deadline a callee accepts (a larger one is cut to it). */
export const MAX_TIMEOUT_MS = 10 * 60_000

/**
 * Requests one inbound stream may have in flight on the callee; past this
 * the callee stops reading the stream until half have been answered, so a
 * fast caller is slowed by yamux's flow control instead of piling up work.
 */
export const MAX_IN_FLIGHT_PER_STREAM = 1024

/** Attempts per call (the first included), for calls that may be retried. */
export const DEFAULT_MAX_ATTEMPTS = 3
/** Consecutive failures after which an instance is ejected from selection... */
export const EJECT_AFTER_FAILURES = 5
/** ...for this long (then re-admitted; ejected again at the next failure streak). */
export const EJECT_FOR_MS = 30_000
/**
 * An instance that answered ServiceNotReadyError (its module still loading)
 * is passed over this long, without counting a failure: a new owner loads
 * in about a second, and ejecting it for EJECT_FOR_MS kept calls off it
 * for 30 s after a failover (seen in `npm run demo`).
 */
export const NOT_READY_COOLDOWN_MS = 500
/**
 * The balancer's latency estimates follow faster calls, and fade while an
 * instance is not called, over this long (tower's peak-EWMA balancer uses
 * 10 s; shorter here, so a straggler that recovered is tried again within
 * seconds: its estimate falls 100-fold in 4.6x this)...
 */
export const RTT_DECAY_MS = 2_000
/** ...and below this an estimate counts as this (never-called and long-idle instances then compete on calls in flight alone). */
export const RTT_FLOOR_MS = 0.05

/** Stream limits per connection for the RPC protocol (one stream per peer and direction is the norm). */
export const MAX_RPC_STREAMS = 32

/** Connecting to an instance's daemon and opening the RPC stream, shared by the calls that wait for it. */
export const OPEN_TIMEOUT_MS = 10_000
