import type { MemberEventView, MemberView } from '../interface/api.js'
import type { Member, MemberEvent } from './member-table.js'
import type { Resources } from './wire.js'

/** A member as the control API shows it. */
export function memberView (m: Member, now: number): MemberView {
  // RTT comes from this node's probes: its ring successors, and any member it had to check
  const rttMs = m.rttMs
  return {
    peerId: m.peerId,
    self: false,
    status: m.status,
    incarnation: m.incarnation,
    lastSeenMs: Math.max(0, now - m.lastHeardAt),
    statusForMs: Math.max(0, now - m.statusSince),
    ...(rttMs != null ? { rttMs } : {}),
    addrs: m.addrs,
    resources: m.resources,
    labels: m.labels,
    services: m.services,
    version: m.version,
    ...(m.suspicion != null ? { suspectedBy: m.suspicion.confirmers.size } : {})
  }
}

/** This node as the control API shows it among its members. */
export function selfView (self: { peerId: string, leaving: boolean, incarnation: number, addrs: string[], resources: Resources, labels: Record<string, string>, services: string[], version: string }): MemberView {
  return {
    peerId: self.peerId,
    self: true,
    status: self.leaving ? 'left' : 'alive',
    incarnation: self.incarnation,
    lastSeenMs: 0,
    statusForMs: 0,
    addrs: self.addrs,
    resources: self.resources,
    labels: self.labels,
    services: self.services,
    version: self.version
  }
}

/** What this node says of itself before its first advert's resources are sampled. */
export function emptyResources (slotsTotal: number): Resources {
  return { cpus: 0, load1: 0, load5: 0, load15: 0, memTotal: 0, memFree: 0, loopLagMs: 0, slotsTotal, slotsUsed: 0, diskFree: 0 }
}

/** A member event as the control API and the event stream show it. */
export function memberEventView (event: MemberEvent): MemberEventView {
  return {
    type: event.type,
    peerId: event.peerId,
    status: event.status,
    incarnation: event.incarnation,
    time: new Date(event.at).toISOString(),
    ...(event.by != null ? { by: event.by } : {}),
    ...(event.reason != null ? { reason: event.reason } : {})
  }
}
