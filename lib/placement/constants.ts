/** Bounded load: no member holds more than ceil((1 + e) * average) replicas. */
export const DEFAULT_LOAD_EPSILON = 0.25
/**
 * A member back from failed less than this long ago gets no replicas yet
 * (hysteresis: a flapping member would otherwise pull services to itself and
 * push them away again on every flap), unless more than half the members are
 * back at once: a healed partition, which the ring places at once (place.ts
 * `heldBack`).
 */
export const DEFAULT_SETTLE_MS = 10_000
/** Service keys are namespaced so they never collide with other DHT records. */
export const SERVICE_KEY_PREFIX = '/noodle/service/'
export const MAX_REPLICAS = 1000
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
