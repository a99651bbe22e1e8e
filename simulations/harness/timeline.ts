import type { Network } from './network.js'

export interface AliveTimeline {
  /** epoch ms of t = 0 */
  t0: number
  stepMs: number
  /** per node and run of its daemon: [seconds since t0, members it held alive (others only)] */
  nodes: Array<{ index: number, lives: Array<Array<[number, number]>> }>
  /** [seconds since t0, daemons running] */
  running: Array<[number, number]>
}

/**
 * Members each node held `alive` over time, rebuilt from the member events
 * the daemons reported (no polling): the state of each peer is its last
 * event's status. A restarted daemon starts from an empty table, as the
 * daemon itself does.
 */
export function aliveTimeline (net: Network, from: number, to: number, maxPoints = 150): AliveTimeline {
  const stepMs = Math.max(1000, Math.ceil((to - from) / maxPoints / 1000) * 1000)
  const nodes: AliveTimeline['nodes'] = []
  const running = new Map<number, number>()
  for (const node of net.nodes) {
    const lives: Array<Array<[number, number]>> = []
    const events = [...node.events].sort((a, b) => a.at - b.at)
    for (const life of node.lives) {
      const points: Array<[number, number]> = []
      const end = Math.min(life.to ?? to, to)
      const state = new Map<string, boolean>()
      let k = 0
      while (k < events.length && events[k]!.at < life.from) k++
      for (let t = from; t <= end; t += stepMs) {
        if (t < life.from) continue
        while (k < events.length && events[k]!.at <= t) {
          const e = events[k++]!
          if (e.peerId !== node.peerId) state.set(e.peerId, e.status === 'alive')
        }
        let alive = 0
        for (const v of state.values()) if (v) alive++
        points.push([Math.round((t - from) / 100) / 10, alive])
        running.set(t, (running.get(t) ?? 0) + 1)
      }
      if (points.length > 0) lives.push(points)
    }
    nodes.push({ index: node.index, lives })
  }
  return {
    t0: from,
    stepMs,
    nodes,
    running: [...running.entries()].sort((a, b) => a[0] - b[0]).map(([t, n]) => [Math.round((t - from) / 100) / 10, n])
  }
}
