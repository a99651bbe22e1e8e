import { setTimeout as sleep } from 'node:timers/promises'
import { distribution } from '../harness/stats.js'
import { measureIdle, measureJoin, until } from './common.js'
import type { Scenario, ScenarioResult } from './types.js'

/**
 * Idle is measured this long after the late joiner is seen by all: a
 * newcomer connects to its ring neighbours, random members and DHT
 * neighbourhood, and the DHT refreshes its table, so the first seconds after
 * a join are not idle.
 */
const SETTLE_MS = 30_000

/** join: convergence of N nodes, one late joiner, and idle cost per node. */
export const join: Scenario = async ({ net, nodes, progress }): Promise<ScenarioResult> => {
  if (net.nodes.length > 0) throw new Error('join measures a network start: run it first')
  const startedAt = Date.now()
  await net.start(nodes)
  progress('converging')
  const figures = await measureJoin(net, startedAt)
  if (!figures.converged) {
    progress('idle window (not converged)')
    const idle = await measureIdle(net, 10_000)
    return {
      headline: { 'join convergence (ms)': 'not converged', 'idle CPU per node (%)': idle.cpuPercentOfCore.mean },
      summary: { ...figures, idle },
      goals: [
        { name: 'join convergence', target: '<= 2000 ms', value: `not converged after ${figures.convergenceMs} ms`, met: false },
        { name: 'idle CPU per node, whole daemon (mean)', target: '<= 2 % of a core', value: idle.cpuPercentOfCore.mean, met: idle.cpuPercentOfCore.mean <= 2 }
      ],
      plot: { title: `join: ${nodes} daemons (did not converge)`, xLabel: 'members listed per daemon', series: [] }
    }
  }

  progress('late joiner')
  const spawnedAt = Date.now()
  const late = await net.addNode()
  const others = net.live().filter(n => n !== late)
  await until(() => others.every(o => net.eventAt(o, late.peerId, 'join') != null), 60_000, 'the late joiner to be seen by all')
  const seenAt = others.map(o => net.eventAt(o, late.peerId, 'join')!)
  const lateFromReady = Math.max(...seenAt) - late.daemon.readyAt!
  const lateFromSpawn = Math.max(...seenAt) - spawnedAt

  // the same-run baseline: a daemon in no mesh, measured over the same window
  const lone = await net.addLoneDaemon()
  progress('settling')
  await sleep(SETTLE_MS)
  progress('idle window')
  const idle = await measureIdle(net, 10_000, lone)
  return {
    headline: { 'join convergence (ms)': figures.convergenceMs, 'late joiner seen by all, from its spawn (ms)': lateFromSpawn, 'late joiner seen by all, from its ready (ms)': lateFromReady, 'idle CPU above a lone daemon (% of a core)': idle.meshCostPercentOfCore!, 'start of all daemons (s)': Math.round(figures.startAllMs / 1000) },
    summary: { ...figures, perNode: distribution(figures.perNodeMs), lateJoinerMs: { fromReady: lateFromReady, fromSpawn: lateFromSpawn }, idleSettleMs: SETTLE_MS, idle },
    goals: [
      { name: 'join convergence', target: '<= 2000 ms', value: figures.convergenceMs, met: figures.convergenceMs <= 2000 },
      // from the spawn of its process: what an operator waits for after `noodled start` (its own start,
      // libp2p and the bootstrap dials included); from ready is the mesh's part alone
      { name: 'late joiner seen by all, from its spawn', target: '<= 2000 ms', value: lateFromSpawn, met: lateFromSpawn <= 2000 },
      // membership work: what a member costs beyond a daemon in no mesh (includes libp2p's connection upkeep)
      { name: 'idle CPU per node above a lone daemon (mean)', target: '<= 2 % of a core', value: idle.meshCostPercentOfCore!, met: idle.meshCostPercentOfCore! <= 2 }
    ],
    plot: {
      title: `join: ${nodes} daemons`,
      xLabel: 'ms after the last daemon was ready until it listed every other member',
      series: [{ name: 'per node', values: figures.perNodeMs }, { name: 'late joiner seen by', values: seenAt.map(t => Math.max(0, t - late.daemon.readyAt!)) }]
    }
  }
}
