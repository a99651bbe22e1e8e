import type { MembershipStats } from '../interface/api.js'
import type { Logger } from '@libp2p/interface'
import type { LocalHealth } from './local-health.js'
import type { MemberEvent, MemberTable } from './member-table.js'
import type { TimingPreset } from './presets.js'

/** What the membership pieces count: the counter fields of `membership stats`. */
export type MembershipCounters = Omit<MembershipStats, 'members' | 'alive' | 'incarnation' | 'localHealth' | 'localHealthParts' | 'rejected' | 'view'>

export function newCounters (): MembershipCounters {
  return { advertsSent: 0, advertsReceived: 0, claimsSent: 0, claimsReceived: 0, bytesSent: 0, bytesReceived: 0, probes: 0, probesFailed: 0, indirectProbes: 0, claimsIgnored: 0, missedNacks: 0, lastChanceAlive: 0, advertsRelayed: 0 }
}

export const REJECT_REASONS = ['oversized', 'malformed', 'unsigned', 'impersonation', 'replay'] as const
export type RejectReason = typeof REJECT_REASONS[number]

/**
 * The state every membership piece shares, owned by the Membership facade:
 * the member table, this node's timing and local health, its counters, and
 * the one place member events leave from. Each piece takes only the part it
 * uses (`Pick<MembershipContext, ...>`).
 */
export interface MembershipContext {
  /** this node's peer id */
  readonly self: string
  readonly timing: TimingPreset
  readonly table: MemberTable
  readonly health: LocalHealth
  readonly counters: MembershipCounters
  readonly log: Logger
  /** aborted when membership stops; undefined while it is stopped */
  signal: () => AbortSignal | undefined
  /** true from the start of a graceful leave */
  leaving: () => boolean
  /** a member's status changed: recorded, logged and dispatched */
  emit: (event: MemberEvent) => void
  /** a message from a peer was refused; counted by reason */
  reject: (reason: RejectReason) => void
}
