import { loadavg, availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { distribution } from '../harness/stats.js'
import { ensureNetwork, verdictOrigins } from './common.js'
import type { Scenario } from './types.js'

/** one sample of the whole mesh per window */
const WINDOW_MS = 30_000
/** a daemon that does not answer its stats within this is counted as not answering, not waited for */
const STATS_TIMEOUT_MS = 20_000

interface Window {
  /** ms since the watch began */
  t: number
  load1PerCpu: number
  suspicions: number
  failures: number
  recoveries: number
  localHealth: { p50: number, max: number, fromLoad: number, fromLag: number, fromProbes: number }
  maxIncarnation: number
  answered: number
}

/**
 * idle: a converged mesh left alone for R windows of 30 s. Nothing is
 * killed, paused or cut, so every suspicion is a false one and every
 * failed verdict a false failure (want 0). Each window samples the host's
 * load per CPU and every daemon's local health score and its parts, which
 * is where a detector that flaps on a saturated host shows why.
 */
export const idle: Scenario = async ({ net, nodes, repeats, progress }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const from = Date.now()
  const live = net.live()
  const count = (type: string, since: number, until: number): number =>
    net.nodes.reduce((sum, n) => sum + n.events.filter(e => e.type === type && e.at >= since && e.at < until).length, 0)
  const windows: Window[] = []
  for (let r = 0; r < repeats; r++) {
    progress('idle', r, repeats)
    const since = Date.now()
    await sleep(WINDOW_MS)
    const until = Date.now()
    const stats = (await Promise.all(live.map(async n => await n.client.membershipStats({ signal: AbortSignal.timeout(STATS_TIMEOUT_MS) }).catch(() => undefined))))
      .filter(s => s != null)
    const health = distribution(stats.map(s => s.localHealth))
    const sum = (part: 'load' | 'lag' | 'probe'): number => stats.reduce((s, x) => s + (x.localHealthParts[part]), 0)
    const mean = (v: number): number => stats.length === 0 ? 0 : Math.round((v / stats.length) * 10) / 10
    windows.push({
      t: until - from,
      load1PerCpu: Math.round((loadavg()[0]! / availableParallelism()) * 10) / 10,
      suspicions: count('suspect', since, until),
      failures: count('failed', since, until),
      recoveries: count('recovered', since, until),
      localHealth: { p50: health.p50, max: health.max, fromLoad: mean(sum('load')), fromLag: mean(sum('lag')), fromProbes: mean(sum('probe')) },
      maxIncarnation: Math.max(0, ...stats.map(s => s.incarnation)),
      answered: stats.length
    })
  }
  const falseFailures = windows.reduce((s, w) => s + w.failures, 0)
  const suspicions = windows.reduce((s, w) => s + w.suspicions, 0)
  const membersFalselyFailed = new Set(net.nodes.flatMap(n => n.events.filter(e => e.type === 'failed' && e.at >= from).map(e => e.peerId))).size
  return {
    headline: { 'false failures idle': falseFailures, 'suspicions idle': suspicions, 'load per CPU': windows.at(-1)?.load1PerCpu ?? 'n/a', 'local health p50': windows.at(-1)?.localHealth.p50 ?? 'n/a' },
    summary: { convergenceMs: join?.convergenceMs, windowMs: WINDOW_MS, windows, falseFailures, suspicions, membersFalselyFailed, verdicts: verdictOrigins(net, from) },
    goals: [
      { name: 'false failures in an idle mesh', target: '0', value: falseFailures, met: falseFailures === 0 },
      { name: 'suspicions in an idle mesh', target: '0', value: suspicions, met: suspicions === 0 }
    ],
    plot: {
      title: `idle: ${nodes} daemons, ${repeats} windows of ${WINDOW_MS / 1000} s`,
      xLabel: 'suspect events per window',
      series: [{ name: 'suspicions', values: windows.map(w => w.suspicions) }, { name: 'failed verdicts', values: windows.map(w => w.failures) }]
    }
  }
}
