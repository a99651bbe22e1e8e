import { echoModule } from '../harness/modules.js'
import { pick } from '../harness/rng.js'
import { distribution } from '../harness/stats.js'
import { ensureNetwork, POLL_DAEMONS_MS, until } from './common.js'
import type { Scenario } from './types.js'

const MODULE_BYTES = 10 * 1024 * 1024

/**
 * distribution: one member publishes a 10 MB module; every other member
 * fetches it by CID at the same moment (blocks come from any member that
 * has them). Same-run baseline: one member fetching it alone first, so the
 * figure reads as "N fetchers cost this many single fetches".
 */
export const distributionScenario: Scenario = async ({ net, nodes, random, progress }) => {
  const join = await ensureNetwork(net, nodes, progress)
  const publisher = pick(net.live(), random)
  const { manifest, wasm } = await echoModule(`sim-big-${Date.now()}`, '1.0.0', MODULE_BYTES)
  progress('publishing 10 MB')
  const { cid } = await publisher.client.publishModule(manifest, wasm)
  const others = net.live().filter(n => n !== publisher)
  // as before a deploy: the catalog entry has reached every member (so each knows the publisher)
  progress('catalog entry to reach all')
  const publishedAt = Date.now()
  const ref = `${String(manifest.name)}@1.0.0`
  const pending = new Set(others)
  await until(async () => {
    await Promise.all([...pending].map(async n => { if (await n.client.resolveModule(ref).then(() => true, () => false)) pending.delete(n) }))
    return pending.size === 0
  }, 120_000, `the catalog entry of ${ref} to reach every member`, POLL_DAEMONS_MS)
  const catalogReachedAllMs = Date.now() - publishedAt

  progress('baseline: one fetcher alone')
  const alone = others[0]!
  const t0 = Date.now()
  const single = await alone.client.fetchModule(cid)
  const singleMs = Date.now() - t0

  const fetchers = others.slice(1)
  progress('all fetch at once', 0, fetchers.length)
  const startedAt = Date.now()
  let done = 0
  const results = await Promise.all(fetchers.map(async n => {
    try {
      const res = await n.client.fetchModule(cid, {}, { signal: AbortSignal.timeout(600_000) })
      progress('all fetch at once', ++done, fetchers.length)
      return { ms: Date.now() - startedAt, bytes: res.fetchedBytes, error: undefined }
    } catch (err: any) {
      return { ms: Date.now() - startedAt, bytes: 0, error: `${String(err.name)}: ${String(err.message)}` }
    }
  }))
  const ok = results.filter(r => r.error == null)
  const times = distribution(ok.map(r => r.ms))
  const allMs = ok.length === results.length ? times.max : NaN
  const mbps = (bytes: number, ms: number): number => Math.round((bytes / 1e6) / (ms / 1000) * 10) / 10
  return {
    headline: { 'all have it (ms)': allMs, 'one fetch alone (ms)': singleMs, 'ratio': Math.round((allMs / singleMs) * 10) / 10, 'failed fetches': results.length - ok.length },
    summary: {
      convergenceMs: join?.convergenceMs,
      moduleBytes: wasm.byteLength,
      catalogReachedAllMs,
      cid,
      publisher: publisher.index,
      baselineSingleFetch: { ms: singleMs, fetchedBytes: single.fetchedBytes, MBps: mbps(single.fetchedBytes, singleMs) },
      fetchers: fetchers.length,
      allHaveItMs: allMs,
      perFetcherMs: times,
      aggregateMBps: mbps(ok.reduce((s, r) => s + r.bytes, 0), times.max),
      failed: results.filter(r => r.error != null).map(r => r.error).slice(0, 5),
      failedCount: results.length - ok.length
    },
    goals: [
      { name: 'every member fetched the module', target: `${fetchers.length} of ${fetchers.length}`, value: ok.length, met: ok.length === fetchers.length },
      { name: 'all fetched it, in single fetches of the same run', target: `<= ${fetchers.length} (no worse than one after another)`, value: Math.round((allMs / singleMs) * 10) / 10, met: allMs / singleMs <= fetchers.length }
    ],
    plot: {
      title: `distribution: 10 MB module, ${fetchers.length} fetchers at once, ${nodes} daemons`,
      xLabel: 'ms from the start until a fetcher had every block',
      series: [{ name: 'each fetcher', values: ok.map(r => r.ms) }, { name: 'baseline: one fetcher alone', values: [singleMs] }]
    }
  }
}
