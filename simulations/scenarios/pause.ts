import { setTimeout as sleep } from 'node:timers/promises'
import { TIMING_PRESETS, type TimingPreset } from '../../lib/membership/presets.js'
import { pick } from '../harness/rng.js'
import type { SimNode } from '../harness/network.js'
import { ensureNetwork, verdictOrigins } from './common.js'
import type { Scenario } from './types.js'

/** after SIGCONT, how long detectors get to (wrongly) decide: well past probe + suspicion windows */
const WINDOW_MS = 8_000

/**
 * The shortest silence after which a member can be suspected: a monitor's
 * direct probe times out and the indirect probes' window runs out (SWIM,
 * section 4). A member paused for less cannot be suspected, whatever its
 * monitors do; a member paused for more may be, and must refute once it runs.
 */
export function suspicionThresholdMs (t: Pick<TimingPreset, 'probeTimeoutMs' | 'indirectTimeoutMs'>): number {
  return t.probeTimeoutMs + t.indirectTimeoutMs
}

/** The pause lengths swept: 0.5 s, below the threshold, past it, and twice it. */
export function pauseLengths (thresholdMs: number): number[] {
  return [...new Set([500, Math.round(thresholdMs * 0.8), Math.round(thresholdMs * 1.5), thresholdMs * 2])].sort((a, b) => a - b)
}

/** Observers that, at the end, still hold `victim` suspect or failed: a verdict that stuck. */
function heldDown (observers: SimNode[], victim: SimNode, since: number): number {
  return observers.filter(o => {
    const last = o.events.filter(e => e.peerId === victim.peerId && e.at >= since).at(-1)
    return last != null && (last.type === 'suspect' || last.type === 'failed')
  }).length
}

/**
 * pause: SIGSTOP a member, SIGCONT, across pause lengths that straddle the
 * suspicion threshold: below it no member may be suspected; above it a
 * suspicion is expected, and must be refuted once the member runs again; a
 * failure that sticks (an observer still holding the member down at the end
 * of the window) is never acceptable.
 */
export const pause: Scenario = async ({ net, nodes, repeats, random, progress, mark, netns }) => {
  const startedAt = Date.now()
  const join = await ensureNetwork(net, nodes, progress)
  const timing = TIMING_PRESETS[netns != null ? 'lan' : 'local']
  const thresholdMs = suspicionThresholdMs(timing)
  const lengths = pauseLengths(thresholdMs)
  const rows: Array<{ victim: string, pauseMs: number, pausedMs: number, belowThreshold: boolean, suspicions: number, failures: number, recovered: number, stillHeldDownBy: number }> = []
  const pausesFrom = Date.now()
  let step = 0
  for (const pauseMs of lengths) {
    for (let r = 0; r < repeats; r++) {
      progress(`pause ${pauseMs} ms`, step++, lengths.length * repeats)
      const victim = pick(net.live(), random)
      const since = Date.now()
      victim.daemon.proc.kill('SIGSTOP')
      mark(`pause ${victim.index} (${pauseMs} ms)`, since)
      await sleep(pauseMs)
      victim.daemon.proc.kill('SIGCONT')
      const pausedMs = Date.now() - since
      await sleep(WINDOW_MS)
      rows.push({
        victim: victim.peerId,
        pauseMs,
        pausedMs,
        belowThreshold: pausedMs < thresholdMs,
        suspicions: net.countEvents(victim.peerId, 'suspect', since),
        failures: net.countEvents(victim.peerId, 'failed', since),
        recovered: net.countEvents(victim.peerId, 'recovered', since),
        stillHeldDownBy: heldDown(net.live().filter(n => n !== victim), victim, since)
      })
    }
  }
  const below = rows.filter(r => r.belowThreshold)
  const above = rows.filter(r => !r.belowThreshold)
  const suspectedBelow = below.reduce((s, r) => s + r.suspicions, 0)
  const stuck = rows.reduce((s, r) => s + r.stillHeldDownBy, 0)
  // members other than the victims failed during the pauses count too; failures during this scenario's start are reported apart
  const victims = new Set(rows.map(r => r.victim))
  const bystandersFailed = net.nodes.reduce((sum, n) => sum + n.events.filter(e => e.type === 'failed' && e.at >= pausesFrom && !victims.has(e.peerId)).length, 0)
  const duringStart = net.nodes.reduce((sum, n) => sum + n.events.filter(e => e.type === 'failed' && e.at >= startedAt && e.at < pausesFrom).length, 0)
  const transientFailures = rows.reduce((s, r) => s + r.failures, 0)
  return {
    headline: {
      'suspicions below the threshold': suspectedBelow,
      'verdicts that stuck': stuck,
      'suspicions above the threshold': above.reduce((s, r) => s + r.suspicions, 0),
      'failed, then recovered': transientFailures,
      'false failures during the start': join != null ? duringStart : 'n/a'
    },
    summary: { convergenceMs: join?.convergenceMs, thresholdMs, lengths, windowMs: WINDOW_MS, repeats: rows, bystandersFailed, falseFailuresDuringStart: join != null ? duringStart : undefined, verdicts: verdictOrigins(net, startedAt) },
    goals: [
      { name: `no suspicion of a member paused below the suspicion threshold (${thresholdMs} ms)`, target: '0', value: suspectedBelow, met: suspectedBelow === 0 },
      { name: 'no verdict that sticks: every observer holds a resumed member alive at the end of the window', target: '0', value: stuck, met: stuck === 0 },
      { name: 'no bystander failed during the pauses', target: '0', value: bystandersFailed, met: bystandersFailed === 0 }
    ],
    plot: {
      title: `pause: SIGSTOP ${lengths.join(' / ')} ms, ${nodes} daemons, ${repeats} repeats each`,
      xLabel: 'ms the victim was actually stopped (per repeat)',
      series: lengths.map(l => ({ name: `${l} ms`, values: rows.filter(r => r.pauseMs === l).map(r => r.pausedMs) }))
    }
  }
}
