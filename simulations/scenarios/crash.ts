import { pick } from '../harness/rng.js'
import { distribution } from '../harness/stats.js'
import { ensureNetwork, until } from './common.js'
import type { Scenario } from './types.js'

/** How long each crash may take to be seen failed by every other daemon; later is reported as missed. */
const DETECT_WITHIN_MS = 60_000

/**
 * crash: SIGKILL a random member, time until every other marks it failed;
 * repeated. Observers that have not marked it failed within 60 s are counted
 * as missed (and the goal is not met) rather than ending the scenario, so a
 * starved mesh still reports what it did see.
 */
export const crash: Scenario = async ({ net, nodes, repeats, random, progress, mark }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const samples: number[] = []
  const everyNode: number[] = []
  let missed = 0
  let observed = 0
  for (let r = 0; r < repeats; r++) {
    progress('crash', r, repeats)
    // never the bootstrap node: that is the bootstrap-loss scenario
    const victim = pick(net.live().slice(1), random)
    const killedAt = await net.kill(victim)
    mark(`kill ${victim.index}`, killedAt)
    const observers = net.live()
    await until(() => observers.every(o => net.eventAt(o, victim.peerId, 'failed', killedAt) != null), DETECT_WITHIN_MS, `all to mark ${victim.peerId} failed`)
      .catch(() => undefined)
    const times = observers.flatMap(o => {
      const at = net.eventAt(o, victim.peerId, 'failed', killedAt)
      return at != null && at - killedAt <= DETECT_WITHIN_MS ? [at - killedAt] : []
    })
    observed += observers.length
    missed += observers.length - times.length
    samples.push(...times)
    if (times.length === observers.length) everyNode.push(Math.max(...times))
  }
  const all = distribution(samples)
  const worst = distribution(everyNode)
  const p99 = missed > 0 ? `${missed} of ${observed} observers missed it within ${DETECT_WITHIN_MS / 1000} s` : all.p99
  return {
    headline: { 'detection p50 (ms)': samples.length > 0 ? all.p50 : 'none detected', 'detection p99 (ms)': p99, 'last observer p50 (ms)': everyNode.length > 0 ? worst.p50 : 'n/a' },
    summary: { convergenceMs: join?.convergenceMs, repeats, detectWithinMs: DETECT_WITHIN_MS, observed, missed, detectionMs: all, detectedByEveryNodeMs: worst },
    goals: [{ name: 'crash detected by every node, p99', target: '<= 3000 ms', value: p99, met: missed === 0 && all.p99 <= 3000 }],
    plot: {
      title: `crash: SIGKILL, ${nodes} daemons, ${repeats} repeats`,
      xLabel: 'ms from SIGKILL until an observer marked the victim failed',
      series: [{ name: 'each observer', values: samples }, { name: 'last observer per crash', values: everyNode }]
    }
  }
}
