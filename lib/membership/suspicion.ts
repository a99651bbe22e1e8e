import { SUSPICION_CONFIRMATIONS } from './constants.js'

export interface SuspicionInput {
  /** members in the view, self included */
  members: number
  /** distinct other members that independently suspect the same target */
  confirmations: number
  minMs: number
  maxFactor: number
  /** Lifeguard local-health multiplier, >= 1 */
  multiplier?: number
  /** confirmations at which the minimum is reached */
  wanted?: number
}

/**
 * Lifeguard's dynamic suspicion timeout: starts at max and falls
 * logarithmically to min as independent confirmations arrive; min grows with
 * log10(N) so larger meshes, where gossip takes longer, wait longer.
 */
export function suspicionTimeout (input: SuspicionInput): number {
  const wanted = input.wanted ?? SUSPICION_CONFIRMATIONS
  const min = input.minMs * Math.max(1, Math.log10(Math.max(1, input.members)))
  const max = min * input.maxFactor
  const progress = Math.min(1, Math.log(input.confirmations + 1) / Math.log(wanted + 1))
  return Math.round(Math.max(min, max - (max - min) * progress) * (input.multiplier ?? 1))
}

/** Lifeguard's suspicion timeout with a node's timing preset. */
export function suspicionTimeoutWith (timing: { suspicionMinMs: number, suspicionMaxFactor: number }, members: number, confirmations: number, multiplier: number): number {
  return suspicionTimeout({ members, confirmations, minMs: timing.suspicionMinMs, maxFactor: timing.suspicionMaxFactor, multiplier })
}
