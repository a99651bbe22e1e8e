import { setTimeout as sleep } from 'node:timers/promises'
import { runLoad, topErrors, type CallRecord } from '../harness/load.js'
import type { SimNode } from '../harness/network.js'
import { distribution } from '../harness/stats.js'
import { ensureNetwork } from './common.js'
import { deployEcho } from './services.js'
import type { Scenario } from './types.js'

/** How long the load runs, and the warm-up before it whose calls are not counted. */
const LOAD_MS = 20_000
const WARMUP_MS = 3_000
/** calls each node keeps in flight */
const CONCURRENCY = 2
const PAYLOAD = 'x'.repeat(64)

const round = (v: number): number => Math.round(v * 100) / 100

function figures (records: CallRecord[], fromMs: number, toMs: number): { calls: number, failed: number, perSec: number, latencyMs: ReturnType<typeof distribution>, inDaemonMs: ReturnType<typeof distribution> } {
  const counted = records.filter(r => r.at >= fromMs && r.at < toMs)
  const ok = counted.filter(r => r.ok)
  return {
    calls: counted.length,
    failed: counted.length - ok.length,
    perSec: Math.round(ok.length / ((toMs - fromMs) / 1000)),
    latencyMs: distribution(ok.map(r => round(r.ms))),
    // the calling daemon's own time: what the mesh costs without the harness and the control API
    inDaemonMs: distribution(ok.filter(r => r.meshMs != null).map(r => round(r.meshMs!)))
  }
}

/**
 * rpc-load: one echo service per 5 nodes (2 replicas each, placed by the
 * DHT ring), every node calling random services for 20 s with 2 calls in
 * flight. Same-run baseline: the same callers, concurrency and window on
 * `GET /id` (the control API round trip alone, no mesh), so the figures
 * separate what the mesh adds from what the harness and the API cost.
 */
export const rpcLoad: Scenario = async ({ net, nodes, random, progress }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const services = Array.from({ length: Math.max(2, Math.round(nodes / 5)) }, (_, i) => `load-${i}`)
  progress('deploying services')
  const { owners, runningAfterMs } = await deployEcho(net, net.live()[0]!, 'sim-echo', services, 2)
  const callers = net.live()

  progress('baseline: control API round trips')
  const baseline = await apiBaseline(callers)

  progress('load')
  const statsBefore = await rpcTotals(callers)
  const stop = new AbortController()
  const startedAt = Date.now()
  const loading = runLoad({ callers, concurrency: CONCURRENCY, service: () => services[Math.floor(random() * services.length)]!, input: PAYLOAD, signal: stop.signal })
  await sleep(WARMUP_MS + LOAD_MS)
  stop.abort()
  const records = await loading
  const statsAfter = await rpcTotals(callers)
  const rpcStats = Object.fromEntries(Object.entries(statsAfter).map(([k, v]) => [k, v - (statsBefore[k] ?? 0)]))
  const mesh = figures(records, startedAt + WARMUP_MS, startedAt + WARMUP_MS + LOAD_MS)
  return {
    headline: { 'RPC calls/s (whole mesh)': mesh.perSec, 'RPC p50 (ms)': mesh.latencyMs.p50, 'RPC p99 (ms)': mesh.latencyMs.p99, 'in the calling daemon p50 / p99 (ms)': `${mesh.inDaemonMs.p50} / ${mesh.inDaemonMs.p99}`, 'failed calls': mesh.failed, 'baseline API calls/s': baseline.perSec, 'baseline p99 (ms)': baseline.latencyMs.p99 },
    summary: {
      convergenceMs: join?.convergenceMs,
      services: services.length,
      replicas: 2,
      // from the first deploy request until every service ran on its 2 owners
      deployedRunningAfterMs: runningAfterMs,
      owners: Object.fromEntries([...owners].map(([s, o]) => [s, o.map(n => n.index)])),
      callers: callers.length,
      concurrencyPerCaller: CONCURRENCY,
      payloadBytes: PAYLOAD.length,
      loadMs: LOAD_MS,
      mesh,
      baselineControlApi: { perSec: baseline.perSec, latencyMs: baseline.latencyMs },
      ratios: { meshOverApiCallsPerSec: round(mesh.perSec / baseline.perSec), meshOverApiP50: round(mesh.latencyMs.p50 / baseline.latencyMs.p50) },
      errors: topErrors(records),
      // every daemon's own RPC counters over the load (client side of the callers, server side of the owners)
      rpcStats
    },
    goals: [
      { name: 'calls failed under load', target: '0', value: mesh.failed, met: mesh.failed === 0 }
    ],
    plot: {
      title: `rpc-load: ${callers.length} callers x ${CONCURRENCY}, ${services.length} services x 2 replicas`,
      xLabel: 'ms per call, seen by the harness (control API + mesh RPC + wasm)',
      series: [
        { name: 'mesh RPC calls', values: records.filter(r => r.ok && r.at >= startedAt + WARMUP_MS).map(r => r.ms) },
        { name: 'the same calls, in the calling daemon', values: records.filter(r => r.ok && r.at >= startedAt + WARMUP_MS && r.meshMs != null).map(r => r.meshMs!) },
        { name: 'baseline: GET /id', values: baseline.samples }
      ]
    }
  }
}

/** The daemons' RPC counters, summed. */
async function rpcTotals (nodes: SimNode[]): Promise<Record<string, number>> {
  const sum: Record<string, number> = {}
  await Promise.all(nodes.map(async n => {
    const s = await n.client.rpcStats().catch(() => undefined)
    if (s == null) return
    for (const [side, counters] of Object.entries(s)) {
      for (const [k, v] of Object.entries(counters as Record<string, number>)) sum[`${side}.${k}`] = (sum[`${side}.${k}`] ?? 0) + v
    }
  }))
  return sum
}

/** Same callers and concurrency, `GET /id` instead of a mesh call, 5 s. */
async function apiBaseline (callers: SimNode[]): Promise<{ perSec: number, latencyMs: ReturnType<typeof distribution>, samples: number[] }> {
  const samples: number[] = []
  const endAt = Date.now() + 5_000
  await Promise.all(callers.flatMap(c => Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < endAt) {
      const t0 = performance.now()
      await c.client.id()
      samples.push(performance.now() - t0)
    }
  })))
  return { perSec: Math.round(samples.length / 5), latencyMs: distribution(samples.map(round)), samples }
}
