import { join } from 'node:path'
import oxigraph from 'oxigraph'
import { ApiClient } from '../../lib/client/api-client.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { killAll, startDaemonMesh, type DaemonProcess } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { summarise } from './stats.js'

const DAEMONS = 10
const TRIPLES_PER_DAEMON = 100_000
const WARM_RUNS = 50
const AFTER_WRITE_RUNS = 3
const EX = 'http://example.org/'
const S = 'https://schema.org/'

/**
 * Daemon `k`'s part of a social graph spread over the mesh: its people
 * (name, age, employer, type), one `knows` link to a person of its own and
 * one to a person of daemon k+1; its organisations, each in a city whose
 * name is in the graph of daemon (city mod DAEMONS). So a friend's name, a
 * friend's friend, or the city of a friend's employer are joins across
 * graphs of different owners.
 */
function part (k: number, n: number): string {
  const people = Math.floor(n / 6.2)
  const orgs = Math.max(1, Math.floor(n / 100))
  const cities = 60
  const lines: string[] = []
  for (let c = k; c < cities; c += DAEMONS) lines.push(`<${EX}city/${c}> <${S}name> "City ${c}" .`)
  for (let o = 0; o < orgs; o++) lines.push(`<${EX}${k}/org/${o}> <${S}location> <${EX}city/${(o * 7 + k) % cities}> .`)
  for (let p = 0; lines.length < n && p < people; p++) {
    const s = `<${EX}${k}/person/${p}>`
    lines.push(`${s} <${S}name> "Person ${k}.${p}" .`)
    lines.push(`${s} <${S}age> "${20 + (p % 50)}"^^<http://www.w3.org/2001/XMLSchema#integer> .`)
    lines.push(`${s} <${S}worksFor> <${EX}${k}/org/${(p * 7) % orgs}> .`)
    lines.push(`${s} <${S}knows> <${EX}${k}/person/${(p * 31 + 7) % people}> .`)
    lines.push(`${s} <${S}knows> <${EX}${(k + 1) % DAEMONS}/person/${(p * 13 + 1) % people}> .`)
    lines.push(`${s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${S}Person> .`)
  }
  return lines.slice(0, n).join('\n') + '\n'
}

/** Each joins graphs of two or more owners. */
const QUERIES: Record<string, string> = {
  friendNames: `SELECT ?fn WHERE { <${EX}0/person/42> <${S}knows> ?f . ?f <${S}name> ?fn }`,
  friendsOfFriends: `SELECT ?n WHERE { <${EX}0/person/42> <${S}knows> ?f . ?f <${S}knows> ?g . ?g <${S}name> ?n }`,
  friendsCities: `SELECT ?cn WHERE { <${EX}0/person/42> <${S}knows> ?f . ?f <${S}worksFor> ?o . ?o <${S}location> ?c . ?c <${S}name> ?cn }`,
  staffInCity: `SELECT ?cn (COUNT(?p) AS ?n) WHERE { ?p <${S}worksFor> ?o . ?o <${S}location> <${EX}city/3> . <${EX}city/3> <${S}name> ?cn } GROUP BY ?cn`
}

type Row = Record<string, { value: string }>
/** The q-quantile of microsecond samples (nearest rank), rounded to 0.1 us. */
const quantile = (samples: number[], q: number): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10
}
const rowsKey = (rows: Row[]): string => rows.map(r => Object.keys(r).sort().map(k => `${k}=${r[k]!.value}`).join(' ')).sort().join('\n')

/**
 * Federated queries over DAEMONS daemon processes of TRIPLES_PER_DAEMON
 * triples each, every query joining graphs of different owners, asked of
 * one daemon through its control API (`scope: mesh`), beside the same
 * queries on one in-process Oxigraph store holding all the graphs (the
 * single-store answer the mesh must equal, and its latency). Cold: the
 * first query, which ships every graph it needs to the asking daemon.
 * Warm: graphs already there. After a write: one owner writes a new
 * version and the next query fetches that graph again.
 */
export async function kgFederatedBench (): Promise<Record<string, unknown>> {
  const dir = await tmpDir()
  let daemons: DaemonProcess[] = []
  try {
    const mesh = await startDaemonMesh(join(dir.path, 'fed'), DAEMONS)
    daemons = mesh.daemons
    const clients = daemons.map(d => new ApiClient({ socketPath: repoPaths(d.repo).apiSocket, repo: d.repo, timeoutMs: 120_000 }))
    const single = new oxigraph.Store()
    const texts = new Map<string, string>()
    for (let k = 0; k < DAEMONS; k++) {
      const text = part(k, TRIPLES_PER_DAEMON)
      texts.set(`urn:noodle:graph:${mesh.ids[k]!}/social`, text)
      await clients[k]!.kgAdd('social', text, { format: 'ntriples' })
      single.load(text, { format: 'application/n-triples', to_graph_name: oxigraph.namedNode(`urn:noodle:graph:${mesh.ids[k]!}/social`) })
    }
    // every catalog complete and every replica taken before anything is timed
    await waitFor(async () => {
      for (const c of clients) if ((await c.kgMeshGraphs()).length !== DAEMONS) return false
      const held = await Promise.all(clients.map(async c => (await c.kgStats()).replicasHeld))
      return held.reduce((a, b) => a + b, 0) === DAEMONS * 2
    }, { timeoutMs: 300_000, intervalMs: 500, what: 'every catalog to list every graph and every replica to be held' })

    const asker = clients[0]!
    const results: Record<string, unknown> = {}
    let first = true
    for (const [name, q] of Object.entries(QUERIES)) {
      const t0 = performance.now()
      const cold = await asker.kgQuery(q, { scope: 'mesh', timeoutMs: 60_000 })
      const coldMs = performance.now() - t0
      const shipped = cold.sources.filter(s => s.status === 'fetched')
      // the cold query's baseline: the engine loading the same graphs' text in this thread
      let bulkLoadMs = 0
      if (first) {
        const fresh = new oxigraph.Store()
        const tl = performance.now()
        for (const s of shipped) fresh.load(texts.get(s.graph)!, { format: 'application/n-triples', to_graph_name: oxigraph.namedNode(s.graph) })
        bulkLoadMs = performance.now() - tl
      }
      if (!cold.complete || cold.kind !== 'bindings') throw new Error(`${name}: incomplete federated answer: ${JSON.stringify(cold.sources.filter(s => s.status === 'unavailable'))}`)
      const want = (single.query(q, { use_default_graph_as_union: true }) as Array<Map<string, { value: string }>>).map(m => Object.fromEntries(m))
      if (rowsKey(cold.bindings) !== rowsKey(want)) throw new Error(`${name}: the federated answer differs from the single store's`)
      const warm: number[] = []
      const direct: number[] = []
      for (let i = 0; i < WARM_RUNS; i++) {
        let t = performance.now()
        await asker.kgQuery(q, { scope: 'mesh', timeoutMs: 60_000 })
        warm.push((performance.now() - t) * 1000)
        t = performance.now()
        single.query(q, { use_default_graph_as_union: true })
        direct.push((performance.now() - t) * 1000)
      }
      const w = { ...summarise(warm, 1), p95Us: quantile(warm, 0.95) }
      const d = { ...summarise(direct, 1), p95Us: quantile(direct, 0.95) }
      results[name] = {
        rows: want.length,
        graphs: cold.sources.length,
        // only the first query of the run ships graphs: later ones find them loaded
        ...(first ? { coldMs: Math.round(coldMs), graphsShipped: shipped.length, baselineBulkLoadOfShippedMs: Math.round(bulkLoadMs) } : {}),
        warm: { p50Us: w.p50Us, p95Us: w.p95Us, p99Us: w.p99Us },
        singleStore: { p50Us: d.p50Us, p95Us: d.p95Us },
        p50OverSingleStore: Math.round(w.p50Us / d.p50Us * 100) / 100
      }
      first = false
    }

    // one owner writes; the asker's next query fetches that graph again (its new version)
    const afterWrite: number[] = []
    for (let i = 0; i < AFTER_WRITE_RUNS; i++) {
      const v = await clients[5]!.kgAdd('social', `<${EX}5/person/extra${i}> <${S}name> "Extra ${i}" .\n`, { format: 'ntriples' })
      await waitFor(async () => (await asker.kgMeshGraphs()).some(g => g.graph === v.iri && g.version === v.version), { timeoutMs: 30_000, intervalMs: 20, what: 'the new version in the asker\'s catalog' })
      const t = performance.now()
      const res = await asker.kgQuery(QUERIES.friendNames!, { scope: 'mesh', timeoutMs: 60_000 })
      afterWrite.push(performance.now() - t)
      if (res.sources.find(s => s.graph === v.iri)?.status !== 'fetched') throw new Error('the written graph was not fetched again')
    }
    const warmP95 = Math.max(...Object.values(results).map(r => (r as { warm: { p95Us: number } }).warm.p95Us))
    return {
      daemons: DAEMONS,
      triplesPerDaemon: TRIPLES_PER_DAEMON,
      strategy: 'ship the graphs a query can match to the asking daemon, once per version; run there over one store',
      queries: results,
      afterOneOwnerWritesMs: { p50: Math.round(afterWrite.sort((a, b) => a - b)[Math.floor(afterWrite.length / 2)]!), all: afterWrite.map(Math.round) },
      warmP95Ms: Math.round(warmP95 / 100) / 10
    }
  } finally {
    await killAll(daemons)
    await dir.cleanup()
  }
}
