import { setTimeout as sleep } from 'node:timers/promises'
import type { SimNode } from '../harness/network.js'
import { pick } from '../harness/rng.js'
import { allAlive, ensureNetwork, until, verdictOrigins } from './common.js'
import type { Scenario } from './types.js'

/** One kill or restart every EVERY_MS for CHURN_MS; at most MAX_DOWN of the nodes down at once. */
const CHURN_MS = 60_000
const EVERY_MS = 2_000
const MAX_DOWN = 0.2
/**
 * A `failed` verdict about a member whose daemon had been running this long
 * is false: a verdict about its previous run (killed, restarted within a
 * few seconds) can arrive after the restart, but not this late.
 */
const RUNNING_FOR_MS = 15_000

/**
 * churn: random SIGKILLs and restarts (same repo, same peer id) at one every
 * 2 s for 60 s; then every killed node is started again and we time until
 * every member holds every other alive. False failures are verdicts about
 * members that had been running for 15 s or more.
 */
export const churn: Scenario = async ({ net, nodes, random, progress, mark }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const first = net.live()[0]!
  const since = Date.now()
  const killed = new Set<SimNode>()
  let kills = 0
  let restarts = 0
  const maxDown = Math.max(1, Math.floor(nodes * MAX_DOWN))
  const steps = Math.floor(CHURN_MS / EVERY_MS)
  for (let i = 0; i < steps; i++) {
    progress('churn', i, steps)
    const t = Date.now()
    const down = [...killed].filter(n => n.killed)
    // never the bootstrap node: restarts and later scenarios bootstrap from it
    const canKill = net.live().filter(n => n !== first)
    if (down.length > 0 && (down.length >= maxDown || random() < 0.5)) {
      const node = pick(down, random)
      mark(`restart ${node.index}`)
      await net.restart(node)
      restarts++
    } else if (canKill.length > 0) {
      const node = pick(canKill, random)
      mark(`kill ${node.index}`)
      await net.kill(node)
      killed.add(node)
      kills++
    }
    const wait = EVERY_MS - (Date.now() - t)
    if (wait > 0) await sleep(wait)
  }
  progress('restarting the killed')
  const churnEnded = Date.now()
  await Promise.all([...killed].filter(n => n.killed).map(async n => { await net.restart(n); restarts++ }))
  // from the last kill or restart: when the loop ended on a restart, nothing is left to restart
  const allUp = Date.now()
  const lastChange = Math.max(...[...killed].flatMap(n => n.lives.flatMap(l => [l.from, l.to ?? 0])), since)
  progress('converging after churn')
  let convergedMs: number | string
  try {
    await until(() => allAlive(net), 180_000, 'every member to hold every other alive after churn')
    convergedMs = Date.now() - lastChange
  } catch {
    convergedMs = 'not within 180 s'
  }

  // false failures: a failed verdict about a member whose current run had started RUNNING_FOR_MS before
  let falseFailures = 0
  const falselyFailed = new Set<string>()
  for (const o of net.nodes) {
    for (const e of o.events) {
      if (e.type !== 'failed' || e.at < since) continue
      const target = net.nodes.find(n => n.peerId === e.peerId)
      if (target == null) continue
      const running = target.lives.some(l => l.from <= e.at - RUNNING_FOR_MS && (l.to == null || l.to > e.at))
      if (running) { falseFailures++; falselyFailed.add(e.peerId) }
    }
  }
  const converge = typeof convergedMs === 'number' ? convergedMs : NaN
  return {
    headline: { kills, restarts, 'converged after churn (ms)': convergedMs, 'false failures': falseFailures },
    summary: {
      convergenceMs: join?.convergenceMs,
      finalRestartsMs: allUp - lastChange,
      churnMs: churnEnded - since,
      everyMs: EVERY_MS,
      maxDown,
      kills,
      restarts,
      convergedAfterChurnMs: convergedMs,
      falseFailures,
      membersFalselyFailed: falselyFailed.size,
      verdicts: verdictOrigins(net, since)
    },
    goals: [
      { name: 'converged after churn', target: '<= 30000 ms', value: convergedMs, met: converge <= 30_000 },
      { name: 'false failures during churn (members running for 15 s or more)', target: '0', value: falseFailures, met: falseFailures === 0 }
    ],
    plot: {
      title: `churn: a kill or restart every ${EVERY_MS / 1000} s for ${CHURN_MS / 1000} s, ${nodes} daemons`,
      xLabel: 'ms from the last kill or restart until every member held every other alive',
      series: [{ name: 'convergence after churn', values: Number.isFinite(converge) ? [converge] : [] }]
    }
  }
}
