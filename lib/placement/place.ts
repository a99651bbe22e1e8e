import type { MemberStatus } from '../interface/api.js'
import { DEFAULT_LOAD_EPSILON, DEFAULT_SETTLE_MS } from './constants.js'
import { compareDistance, distanceHex, memberKadId, serviceKadId, xor } from './keys.js'
import type { ServiceSpec } from './spec.js'

/** What placement needs to know about a member: a projection of the member table. */
export interface PlacementMember {
  peerId: string
  status: MemberStatus
  /**
   * how long the member has been up since it last came back from failed
   * (ms); members that recover are held back for settleMs (hysteresis)
   */
  statusForMs: number
  draining?: boolean
  resources: { cpus: number, memTotal: number, slotsTotal: number }
  labels: Record<string, string>
}

export interface PlacementOptions {
  /** bounded load: at most ceil((1 + epsilon) * average) replicas per member. @default 0.25 */
  epsilon?: number
  /** members back from failed for less than this get no replicas yet. @default 10 s */
  settleMs?: number
}

export interface ServicePlacement {
  name: string
  /** owners, closest first */
  owners: string[]
  /** replicas asked for; more than owners.length when too few members qualify */
  replicas: number
  /** owners that took the replica above the load cap because no member under it qualified */
  overCap: string[]
}

export interface PlacementResult {
  services: Map<string, ServicePlacement>
  /** replicas per member, for every member that holds one */
  load: Map<string, number>
  /** the load cap this round */
  cap: number
  /** members eligible at all (alive or suspect, settled, not draining) */
  eligible: number
}

export interface MemberDecision {
  peerId: string
  /** 1 = closest to the service key */
  rank: number
  /** XOR distance between the service's and the member's Kademlia ids, hex */
  distance: string
  /** replicas of all services on this member in this placement */
  load: number
  chosen: boolean
  reason: string
}

export interface PlacementExplanation {
  service: string
  replicas: number
  owners: string[]
  cap: number
  members: MemberDecision[]
}

interface Used { cpu: number, memoryMb: number, slots: number, count: number }

const MIB = 1024 * 1024

/**
 * Place every service on the members: for each service (in the order of its
 * key, so every node takes the same order), rank the members by XOR distance
 * to the service key and take the first `replicas` that are eligible, have
 * the resources left (capacity minus what this placement already gave them),
 * match the label selectors, spread across `spread` when asked, and are below
 * the load cap (consistent hashing with bounded loads, Mirrokni et al. 2018).
 * A pure function of (specs, members): every node with the same view
 * computes the same owners, and a member joining or leaving moves only the
 * replicas it takes or held, plus the few the cap pushes along.
 */
export function place (specs: ServiceSpec[], members: PlacementMember[], options: PlacementOptions = {}): PlacementResult {
  return run(specs, members, options).result
}

/** Why each member was or was not chosen for `name` (the whole placement is computed: load depends on it). */
export function explain (name: string, specs: ServiceSpec[], members: PlacementMember[], options: PlacementOptions = {}): PlacementExplanation | undefined {
  const { result, explanation } = run(specs, members, options, name)
  if (explanation == null) return undefined
  return { ...explanation, cap: result.cap }
}

function run (specs: ServiceSpec[], members: PlacementMember[], options: PlacementOptions, explainName?: string): { result: PlacementResult, explanation?: Omit<PlacementExplanation, 'cap'> } {
  const epsilon = options.epsilon ?? DEFAULT_LOAD_EPSILON
  const settleMs = heldBack(members, options.settleMs ?? DEFAULT_SETTLE_MS)
  const unfit = new Map<string, string>()
  for (const m of members) {
    const why = ineligible(m, settleMs)
    if (why != null) unfit.set(m.peerId, why)
  }
  const eligible = members.length - unfit.size
  const total = specs.reduce((sum, s) => sum + s.replicas, 0)
  const cap = Math.max(1, Math.ceil((1 + epsilon) * (eligible > 0 ? total / eligible : 0)))
  const used = new Map<string, Used>(members.map(m => [m.peerId, { cpu: 0, memoryMb: 0, slots: 0, count: 0 }]))
  const services = new Map<string, ServicePlacement>()
  let explanation: Omit<PlacementExplanation, 'cap'> | undefined

  const ordered = specs.map(spec => ({ spec, id: serviceKadId(spec.name) }))
    .sort((a, b) => compareDistance(a.id, b.id) || (a.spec.name < b.spec.name ? -1 : 1))

  const ids = members.map(m => memberKadId(m.peerId))
  for (const { spec, id } of ordered) {
    const ranked = rank(id, members, ids)
    const owners: string[] = []
    const overCap: string[] = []
    const reasons = new Map<string, string>()
    const spreadValues = new Set<string>()
    const chosen = new Set<string>()
    const take = (m: PlacementMember, over: boolean): void => {
      owners.push(m.peerId)
      chosen.add(m.peerId)
      if (over) overCap.push(m.peerId)
      const u = used.get(m.peerId)!
      u.cpu += spec.requirements.cpu
      u.memoryMb += spec.requirements.memoryMb
      u.slots += spec.requirements.slots
      u.count++
      if (spec.spread != null) spreadValues.add(m.labels[spec.spread] ?? '')
    }
    // pass 1: everything holds; pass 2: spread relaxed; pass 3: the load cap relaxed
    for (const pass of [1, 2, 3] as const) {
      if (owners.length >= spec.replicas) break
      if (pass === 2 && spec.spread == null) continue
      const candidates = ranked.filter(({ m }) => !chosen.has(m.peerId))
      if (pass === 3) {
        // the cap is exceeded only when nothing under it qualifies: least loaded first, then closest
        candidates.sort((a, b) => used.get(a.m.peerId)!.count - used.get(b.m.peerId)!.count)
      }
      for (const { m } of candidates) {
        if (owners.length >= spec.replicas) break
        const why = unfit.get(m.peerId) ?? misfit(m, spec, used.get(m.peerId)!)
        if (why != null) {
          if (pass === 1) reasons.set(m.peerId, why)
          continue
        }
        if (pass < 3 && used.get(m.peerId)!.count >= cap) {
          if (pass === 1) reasons.set(m.peerId, `at the load cap (${cap} replicas)`)
          continue
        }
        if (pass === 1 && spec.spread != null && spreadValues.has(m.labels[spec.spread] ?? '')) {
          reasons.set(m.peerId, `spread: ${spec.spread}=${m.labels[spec.spread] ?? '(none)'} already holds a replica`)
          continue
        }
        take(m, pass === 3)
        reasons.set(m.peerId, pass === 1
          ? 'chosen'
          : pass === 2
            ? `chosen: too few distinct ${spec.spread ?? ''} values to spread further`
            : `chosen above the load cap (${cap}): no member under it qualifies`)
      }
    }
    services.set(spec.name, { name: spec.name, owners, replicas: spec.replicas, overCap })
    if (spec.name === explainName) {
      explanation = {
        service: spec.name,
        replicas: spec.replicas,
        owners,
        members: ranked.map(({ m, i: k }, i) => ({
          peerId: m.peerId,
          rank: i + 1,
          distance: distanceHex(xor(id, ids[k]!)),
          load: 0,
          chosen: owners.includes(m.peerId),
          reason: reasons.get(m.peerId) ?? 'not needed: the replicas went to closer members'
        }))
      }
    }
  }
  const load = new Map<string, number>()
  for (const [peer, u] of used) if (u.count > 0) load.set(peer, u.count)
  if (explanation != null) {
    for (const d of explanation.members) d.load = load.get(d.peerId) ?? 0
  }
  return { result: { services, load, cap, eligible }, ...(explanation != null ? { explanation } : {}) }
}

/**
 * Members in order of XOR distance from `key`. Sorting on the first 48 bits
 * of the distance as a number (falling back to the full 256 bits on a tie)
 * allocates nothing per comparison: a placement of 1,000 services on 100
 * members ranks 100,000 pairs.
 */
function rank (key: Uint8Array, members: PlacementMember[], ids: Uint8Array[]): Array<{ m: PlacementMember, i: number }> {
  const prefix = ids.map(id =>
    (((id[0]! ^ key[0]!) << 16) | ((id[1]! ^ key[1]!) << 8) | (id[2]! ^ key[2]!)) * 0x1000000 +
    ((((id[3]! ^ key[3]!) << 16) | ((id[4]! ^ key[4]!) << 8) | (id[5]! ^ key[5]!))))
  return members.map((m, i) => ({ m, i }))
    .sort((a, b) => (prefix[a.i]! - prefix[b.i]!) || compareDistance(xor(key, ids[a.i]!), xor(key, ids[b.i]!)))
}

/**
 * The settle time to apply this round: hysteresis is for a flapping few.
 * When more than half of the members that could hold replicas are settling
 * at once, it is a healed partition (each side had failed the other, and
 * the verdicts crossed with the heal, so nearly every member recovered in
 * every view): holding them all back left each node itself as the only
 * eligible member, and every node ran every service for the settle time
 * (partition scenario, two islands of 5: all 10 ran a 3-replica service for
 * 10 s). Then nobody is held back and the ring decides at once.
 */
function heldBack (members: PlacementMember[], settleMs: number): number {
  let candidates = 0
  let settling = 0
  for (const m of members) {
    if (ineligible(m, 0) != null) continue
    candidates++
    if (ineligible(m, settleMs) != null) settling++
  }
  return settling * 2 > candidates ? 0 : settleMs
}

/** Why a member cannot hold any replica now, or undefined. */
function ineligible (m: PlacementMember, settleMs: number): string | undefined {
  if (m.status !== 'alive' && m.status !== 'suspect') return `${m.status}`
  if (m.draining === true) return 'draining'
  if (m.status === 'alive' && m.statusForMs < settleMs) return `settling: alive for ${Math.round(m.statusForMs / 1000)} s of ${Math.round(settleMs / 1000)} s`
  return undefined
}

/** Why a member cannot hold a replica of this service, given what it already holds, or undefined. */
function misfit (m: PlacementMember, spec: ServiceSpec, used: Used): string | undefined {
  for (const [k, v] of Object.entries(spec.requirements.labels)) {
    if (m.labels[k] !== v) return `label ${k}=${v} wanted, member has ${m.labels[k] == null ? 'none' : `${k}=${m.labels[k]}`}`
  }
  const r = spec.requirements
  if (r.cpu > 0 && used.cpu + r.cpu > m.resources.cpus) return `cpu: needs ${r.cpu}, ${round(m.resources.cpus - used.cpu)} of ${m.resources.cpus} left`
  const memMb = Math.floor(m.resources.memTotal / MIB)
  if (r.memoryMb > 0 && used.memoryMb + r.memoryMb > memMb) return `memory: needs ${r.memoryMb} MiB, ${memMb - used.memoryMb} of ${memMb} MiB left`
  if (r.slots > 0 && used.slots + r.slots > m.resources.slotsTotal) return `worker slots: needs ${r.slots}, ${m.resources.slotsTotal - used.slots} of ${m.resources.slotsTotal} left`
  return undefined
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}

/** Replicas that changed owner between two placements (the moves a change causes). */
export function moves (before: PlacementResult, after: PlacementResult): number {
  let moved = 0
  for (const [name, b] of before.services) {
    const a = after.services.get(name)
    const now = new Set(a?.owners ?? [])
    moved += b.owners.filter(o => !now.has(o)).length
  }
  return moved
}
