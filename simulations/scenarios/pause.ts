import { setTimeout as sleep } from 'node:timers/promises'
import { pick } from '../harness/rng.js'
import { ensureNetwork, verdictOrigins } from './common.js'
import type { Scenario } from './types.js'

const PAUSE_MS = 1_000
/** after SIGCONT, how long detectors get to (wrongly) decide: well past probe + suspicion windows */
const WINDOW_MS = 8_000

/** pause: SIGSTOP a member for 1 s, SIGCONT; count false failures (want 0) and suspicions. */
export const pause: Scenario = async ({ net, nodes, repeats, random, progress, mark }) => {
  const startedAt = Date.now()
  const join = await ensureNetwork(net, nodes, progress)
  const rows: Array<{ victim: string, pausedMs: number, suspicions: number, failures: number, recovered: number }> = []
  const pausesFrom = Date.now()
  for (let r = 0; r < repeats; r++) {
    progress('pause', r, repeats)
    const victim = pick(net.live(), random)
    const since = Date.now()
    victim.daemon.proc.kill('SIGSTOP')
    mark(`pause ${victim.index}`, since)
    await sleep(PAUSE_MS)
    victim.daemon.proc.kill('SIGCONT')
    const pausedMs = Date.now() - since
    await sleep(WINDOW_MS)
    rows.push({
      victim: victim.peerId,
      pausedMs,
      suspicions: net.countEvents(victim.peerId, 'suspect', since),
      failures: net.countEvents(victim.peerId, 'failed', since),
      recovered: net.countEvents(victim.peerId, 'recovered', since)
    })
  }
  // anyone else blamed during the pauses counts as well; those during this scenario's start are reported apart
  const falseFailures = net.nodes.reduce((sum, n) => sum + n.events.filter(e => e.type === 'failed' && e.at >= pausesFrom).length, 0)
  const duringStart = net.nodes.reduce((sum, n) => sum + n.events.filter(e => e.type === 'failed' && e.at >= startedAt && e.at < pausesFrom).length, 0)
  const failedMembers = new Set(net.nodes.flatMap(n => n.events.filter(e => e.type === 'failed' && e.at >= startedAt).map(e => e.peerId))).size
  const suspicions = rows.reduce((s, r) => s + r.suspicions, 0)
  return {
    headline: { 'false failures under pauses': falseFailures, suspicions, 'false failures during the start': join != null ? duringStart : 'n/a' },
    summary: { convergenceMs: join?.convergenceMs, pauseMs: PAUSE_MS, windowMs: WINDOW_MS, repeats: rows, falseFailures, falseFailuresDuringStart: join != null ? duringStart : undefined, membersFalselyFailed: failedMembers, verdicts: verdictOrigins(net, startedAt), suspicions },
    goals: [{ name: 'false failures under 1 s pauses', target: '0', value: falseFailures, met: falseFailures === 0 }],
    plot: {
      title: `pause: SIGSTOP ${PAUSE_MS} ms, ${nodes} daemons, ${repeats} repeats`,
      xLabel: 'ms the victim was actually stopped (per repeat)',
      series: [{ name: 'pause length', values: rows.map(r => r.pausedMs) }]
    }
  }
}
