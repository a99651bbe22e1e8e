import { pick } from '../harness/rng.js'
import { distribution } from '../harness/stats.js'
import { ensureNetwork, until } from './common.js'
import type { Scenario } from './types.js'

/** crash: SIGKILL a random member, time until every other marks it failed; repeated. */
export const crash: Scenario = async ({ net, nodes, repeats, random, progress, mark }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const samples: number[] = []
  const everyNode: number[] = []
  for (let r = 0; r < repeats; r++) {
    progress('crash', r, repeats)
    // never the bootstrap node: that is the bootstrap-loss scenario
    const victim = pick(net.live().slice(1), random)
    const killedAt = await net.kill(victim)
    mark(`kill ${victim.index}`, killedAt)
    const observers = net.live()
    await until(() => observers.every(o => net.eventAt(o, victim.peerId, 'failed', killedAt) != null), 60_000, `all to mark ${victim.peerId} failed`)
    const times = observers.map(o => net.eventAt(o, victim.peerId, 'failed', killedAt)! - killedAt)
    samples.push(...times)
    everyNode.push(Math.max(...times))
  }
  const all = distribution(samples)
  const worst = distribution(everyNode)
  return {
    headline: { 'detection p50 (ms)': all.p50, 'detection p99 (ms)': all.p99, 'last observer p50 (ms)': worst.p50 },
    summary: { convergenceMs: join?.convergenceMs, repeats, detectionMs: all, detectedByEveryNodeMs: worst },
    goals: [{ name: 'crash detected by every node, p99', target: '<= 3000 ms', value: all.p99, met: all.p99 <= 3000 }],
    plot: {
      title: `crash: SIGKILL, ${nodes} daemons, ${repeats} repeats`,
      xLabel: 'ms from SIGKILL until an observer marked the victim failed',
      series: [{ name: 'each observer', values: samples }, { name: 'last observer per crash', values: everyNode }]
    }
  }
}
