import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { defaultLogger } from '@libp2p/logger'
import oxigraph from 'oxigraph'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { alternativeStoreBench } from './kg-alternative.bench.js'
import { extractionBench } from './kg-extraction.bench.js'
import { kgFederatedBench } from './kg-federated.bench.js'
import { summarise } from './stats.js'

const log = defaultLogger().forComponent('bench:kg')
const SIZES = [100_000, 1_000_000]
const QUERY_RUNS = 200

/**
 * `n` triples of a small social graph: people with a name, an age, an
 * employer among n/100 organisations in n/1000 cities, and two `knows`
 * links each; deterministic, so every run queries the same data.
 */
function socialGraph (n: number): string {
  const people = Math.floor(n / 6)
  const orgs = Math.max(1, Math.floor(n / 100))
  const cities = Math.max(1, Math.floor(n / 1000))
  const ex = 'http://example.org/'
  const lines: string[] = []
  for (let c = 0; c < cities; c++) lines.push(`<${ex}city/${c}> <https://schema.org/name> "City ${c}" .`)
  for (let o = 0; o < orgs; o++) lines.push(`<${ex}org/${o}> <https://schema.org/location> <${ex}city/${o % cities}> .`)
  for (let p = 0; lines.length < n && p < people; p++) {
    const s = `<${ex}person/${p}>`
    lines.push(`${s} <https://schema.org/name> "Person ${p}" .`)
    lines.push(`${s} <https://schema.org/age> "${20 + (p % 50)}"^^<http://www.w3.org/2001/XMLSchema#integer> .`)
    lines.push(`${s} <https://schema.org/worksFor> <${ex}org/${(p * 7) % orgs}> .`)
    lines.push(`${s} <https://schema.org/knows> <${ex}person/${(p * 13 + 1) % people}> .`)
    lines.push(`${s} <https://schema.org/knows> <${ex}person/${(p * 31 + 7) % people}> .`)
    lines.push(`${s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://schema.org/Person> .`)
  }
  return lines.slice(0, n).join('\n') + '\n'
}

/** The fixed query mix: a point lookup, a 3-pattern join, and an aggregate over a join. */
const QUERIES: Record<string, string> = {
  lookup: 'SELECT ?n WHERE { <http://example.org/person/42> <https://schema.org/name> ?n }',
  join3: 'SELECT ?friend ?org WHERE { <http://example.org/person/42> <https://schema.org/knows> ?f . ?f <https://schema.org/name> ?friend ; <https://schema.org/worksFor> ?org }',
  aggregate: 'SELECT ?city (COUNT(?p) AS ?n) WHERE { ?p <https://schema.org/worksFor> ?o . ?o <https://schema.org/location> <http://example.org/city/3> . ?o <https://schema.org/location> ?city } GROUP BY ?city'
}

/** p50 of an empty message to a worker thread and back, on the host the bench runs on, in the same run: the cost of being off the event loop. */
async function workerRoundTripP50Us (): Promise<number> {
  const worker = new Worker('const { parentPort } = require(\'node:worker_threads\'); parentPort.on(\'message\', (m) => parentPort.postMessage(m))', { eval: true })
  try {
    const once = async (): Promise<void> => await new Promise((resolve) => { worker.once('message', () => { resolve() }); worker.postMessage({ id: 1 }) })
    for (let i = 0; i < 500; i++) await once()
    const samples: number[] = []
    for (let i = 0; i < 2000; i++) {
      const t = performance.now()
      await once()
      samples.push((performance.now() - t) * 1000)
    }
    return summarise(samples, 1).p50Us
  } finally {
    await worker.terminate()
  }
}

/**
 * `npm run bench -- kg`: the per-daemon knowledge store (GraphStore: Oxigraph
 * in a worker, durable in level) against Oxigraph called directly in this
 * thread, same data, same run. Ingest: one durable write of N triples (parse,
 * skolemise, apply, canonical bytes and hash, fsync'd level write) vs the
 * engine's in-memory bulk load of the same text. Query: the fixed mix, p50
 * and p99 over QUERY_RUNS each, through the store (a worker round trip) vs the
 * direct call. Event-loop lag (p99, max) of this thread while the store runs a
 * long query. Memory: RSS growth per million triples held.
 */
export async function kgBench (): Promise<Record<string, unknown>> {
  const results: Array<{ triples: number, ingest: { ratio: number } & Record<string, number>, queries: Record<string, unknown>, eventLoopDuringLongQuery: { lagP99Ms: number } & Record<string, number>, rssGrowthMbPerMillion: number, alternative?: Record<string, unknown> }> = []
  // the engine warmed up first (its wasm compiled and run), so the first size's baseline is not a cold start
  new oxigraph.Store().load(socialGraph(10_000), { format: 'application/n-triples' })
  for (const n of SIZES) {
    const text = socialGraph(n)
    // baseline: the engine's own bulk load, in memory, in this thread
    const direct = new oxigraph.Store()
    const t0 = performance.now()
    direct.load(text, { format: 'application/n-triples', to_graph_name: oxigraph.namedNode('urn:bench:g'), no_transaction: true })
    const bulkLoadMs = performance.now() - t0

    const dir = await tmpDir()
    const store = new GraphStore({ path: `${dir.path}/kg`, owner: 'bench', log })
    try {
      await store.start()
      global.gc?.()
      const rssBefore = process.memoryUsage.rss()
      const t1 = performance.now()
      await store.add('social', text, { format: 'ntriples' })
      const ingestMs = performance.now() - t1
      const rssGrowth = process.memoryUsage.rss() - rssBefore

      // the floor of any store off this thread: an empty message to a worker and back
      const floorUs = await workerRoundTripP50Us()
      const queries: Record<string, unknown> = {}
      for (const [name, q] of Object.entries(QUERIES)) {
        for (let i = 0; i < 5; i++) { direct.query(q, { use_default_graph_as_union: true }); await store.query(q) }
        const viaStore: number[] = []
        const viaDirect: number[] = []
        for (let i = 0; i < QUERY_RUNS; i++) {
          let t = performance.now()
          await store.query(q)
          viaStore.push((performance.now() - t) * 1000)
          t = performance.now()
          direct.query(q, { use_default_graph_as_union: true })
          viaDirect.push((performance.now() - t) * 1000)
        }
        const s = summarise(viaStore, 1)
        const d = summarise(viaDirect, 1)
        queries[name] = {
          store: { p50Us: s.p50Us, p99Us: s.p99Us },
          direct: { p50Us: d.p50Us, p99Us: d.p99Us },
          p50Ratio: Math.round(s.p50Us / d.p50Us * 100) / 100,
          // the direct call plus the worker round trip: what a store in a worker could at best do
          offThreadFloorP50Us: Math.round((d.p50Us + floorUs) * 10) / 10
        }
      }

      // the daemon's thread while the store works on a long query (a two-hop join over everyone)
      const lag = monitorEventLoopDelay({ resolution: 1 })
      lag.enable()
      const t2 = performance.now()
      await store.query('SELECT (COUNT(*) AS ?c) WHERE { ?a <https://schema.org/knows> ?b . ?b <https://schema.org/knows> ?c . ?c <https://schema.org/worksFor> ?o }', { timeoutMs: 10_000 }).catch(() => {})
      const longQueryMs = performance.now() - t2
      lag.disable()

      results.push({
        triples: n,
        ingest: { durableMs: Math.round(ingestMs), baselineBulkLoadInMemoryMs: Math.round(bulkLoadMs), triplesPerSec: Math.round(n / (ingestMs / 1000)), baselineTriplesPerSec: Math.round(n / (bulkLoadMs / 1000)), ratio: Math.round(bulkLoadMs / ingestMs * 100) / 100 },
        queries,
        eventLoopDuringLongQuery: { queryMs: Math.round(longQueryMs), lagP99Ms: Math.round(lag.percentile(99) / 1e4) / 100, lagMaxMs: Math.round(lag.max / 1e4) / 100 },
        rssGrowthMbPerMillion: Math.round(rssGrowth / 1e6 / (n / 1e6)),
        // the engine not chosen, at the first size only (it takes ~3 s per 100k triples to load)
        ...(n === SIZES[0] ? { alternative: await alternativeStoreBench(text, QUERIES) } : {})
      })
    } finally {
      await store.stop()
      await dir.cleanup()
    }
  }
  const worst = (k: (r: any) => number): number => Math.max(...results.map(k))
  // reported, not gated: the built-in analyzer on a labelled set
  const extraction = extractionBench()
  const federated = await kgFederatedBench()
  const fed = federated as { warmP95Ms: number, queries: Record<string, { coldMs?: number }> }
  return {
    name: 'kg',
    engine: 'oxigraph',
    results,
    extraction,
    federated,
    goals: {
      federatedP95AtMost250Ms: { goal: '<= 250 ms (every federated query, graphs already shipped, through the control API)', value: fed.warmP95Ms, met: fed.warmP95Ms <= 250 },
      ingestAtLeastHalfOfBulkLoad: { goal: '>= 0.5 (durable ingest over the engine\'s in-memory bulk load, every size)', value: results.map(r => r.ingest.ratio), met: results.every(r => r.ingest.ratio >= 0.5) },
      queryP50AtMost1_5xDirect: { goal: '<= 1.5 (store p50 over the direct call, every query, every size)', value: worst(r => Math.max(...Object.values(r.queries as Record<string, { p50Ratio: number }>).map(q => q.p50Ratio))), met: worst(r => Math.max(...Object.values(r.queries as Record<string, { p50Ratio: number }>).map(q => q.p50Ratio))) <= 1.5 },
      eventLoopLagP99AtMost20Ms: { goal: '<= 20 ms during a long query', value: worst(r => r.eventLoopDuringLongQuery.lagP99Ms), met: worst(r => r.eventLoopDuringLongQuery.lagP99Ms) <= 20 }
    }
  }
}
