import { BOOTSTRAP_JITTER, BOOTSTRAP_MAX_BACKOFF_MS, BOOTSTRAP_MIN_BACKOFF_MS } from './constants.js'

export interface BackoffInit {
  minMs?: number
  maxMs?: number
  jitter?: number
  random?: () => number
}

/**
 * Delay before retry number `attempt` (1-based): min * 2^(attempt-1), capped
 * at max, spread by +-jitter so restarted daemons do not retry in lockstep.
 */
export function backoffDelay (attempt: number, init: BackoffInit = {}): number {
  const min = init.minMs ?? BOOTSTRAP_MIN_BACKOFF_MS
  const max = init.maxMs ?? BOOTSTRAP_MAX_BACKOFF_MS
  const jitter = init.jitter ?? BOOTSTRAP_JITTER
  const random = init.random ?? Math.random
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (1 - jitter + 2 * jitter * random()))
}
