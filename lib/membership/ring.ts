/**
 * The monitoring ring: members in peer-id order, wrapping around. Each member
 * probes the `k` that follow it and is probed by the `k` that precede it, so
 * every member has k monitors and the probe load per member is flat in N
 * (SWIM's random round robin makes every member connect to every other).
 * Peer ids end in a public key, so their order is effectively random and a
 * node cannot choose its monitors. Views that differ briefly (a join not yet
 * heard everywhere) give slightly different rings; silence-triggered probes
 * by everyone cover the gap.
 */
export interface RingNeighbours {
  /** members this node probes, nearest first */
  successors: string[]
  /** members that probe this node, nearest first */
  predecessors: string[]
}

export function ringNeighbours (self: string, members: Iterable<string>, k: number): RingNeighbours {
  const ids = [...new Set([...members, self])].sort()
  const at = ids.indexOf(self)
  const n = ids.length
  const take = Math.min(k, n - 1)
  const successors: string[] = []
  const predecessors: string[] = []
  for (let i = 1; i <= take; i++) {
    successors.push(ids[(at + i) % n]!)
    predecessors.push(ids[(at - i + n) % n]!)
  }
  return { successors, predecessors }
}
