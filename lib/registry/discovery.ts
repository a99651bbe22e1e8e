import type { InstanceView, MemberStatus } from '../interface/api.js'
import type { PlacementResult } from '../placement/place.js'

/** What discovery needs to know about a member: a projection of the member table. */
export interface DiscoveryMember {
  peerId: string
  status: MemberStatus
  /** services its adverts list */
  services: string[]
}

export interface LocalState {
  self: string
  placement: PlacementResult
  /** every member but this node */
  members: Map<string, DiscoveryMember>
  /** services this node's reconciler runs */
  runs: (service: string) => boolean
  /** this node's external instance of the service, if registered: is its check passing? */
  external: (service: string) => boolean | undefined
}

/**
 * The instances of `name` this node knows of without asking anyone: the
 * owners placement computes (every node computes the same ones), and
 * external instances that members announce in their adverts (only healthy
 * ones are announced) or that are registered here. Healthy instances first,
 * then by peer id, so callers can take the first ones.
 */
export function localInstances (name: string, state: LocalState): InstanceView[] {
  const instances = new Map<string, InstanceView>()
  for (const owner of state.placement.services.get(name)?.owners ?? []) {
    if (owner === state.self) {
      instances.set(owner, { peerId: owner, kind: 'replica', healthy: true, memberStatus: 'alive', announced: state.runs(name) })
      continue
    }
    const m = state.members.get(owner)
    if (m == null) continue
    instances.set(owner, { peerId: owner, kind: 'replica', healthy: m.status === 'alive', memberStatus: m.status, announced: m.services.includes(name) })
  }
  const mine = state.external(name)
  if (mine != null && !instances.has(state.self)) {
    instances.set(state.self, { peerId: state.self, kind: 'external', healthy: mine, memberStatus: 'alive', announced: mine })
  }
  for (const m of state.members.values()) {
    if (instances.has(m.peerId) || !m.services.includes(name)) continue
    if (m.status === 'failed' || m.status === 'left') continue
    // not an owner, so the advert lists an external instance (announced only while healthy)
    instances.set(m.peerId, { peerId: m.peerId, kind: 'external', healthy: m.status === 'alive', memberStatus: m.status, announced: true })
  }
  return [...instances.values()].sort((a, b) => Number(b.healthy) - Number(a.healthy) || a.peerId.localeCompare(b.peerId))
}
