import { Worker } from 'node:worker_threads'
import type { Logger, PrivateKey } from '@libp2p/interface'
import { Level } from 'level'
import { GraphCorruptError, GraphNotFoundError, InvalidRequestError, QueryTimeoutError, RdfSyntaxError, SparqlSyntaxError } from '../interface/errors.js'
import { raceSignal } from 'race-signal'
import { graphHash } from './canonical.js'
import { checkGraphRecord, checkGraphVersion, signGraphVersion, type GraphVersionRecord, type SignedGraphVersion } from './graph-version.js'
import type { AnalyzerInfo, Extraction } from './extract.js'
import type { AnalyzerAnswer } from './analyzer-service.js'
import type { QueryAnswer, StoreRequest, StoreResponse } from './store-protocol.js'

/** RDF formats a write may come in, by their media types (Oxigraph's names). */
export const RDF_FORMATS: Record<string, string> = {
  turtle: 'text/turtle',
  ntriples: 'application/n-triples',
  nquads: 'application/n-quads',
  trig: 'application/trig',
  rdfxml: 'application/rdf+xml',
  // contexts inline only: a remote @context is refused (no fetch while parsing)
  jsonld: 'application/ld+json'
}

/** A graph's local name: what follows the owner in its IRI. */
const GRAPH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export interface GraphVersion {
  name: string
  /** `urn:noodle:graph:<owner>/<name>` */
  iri: string
  version: number
  /** SHA-256 of the graph's canonical N-Triples (canonical.ts) */
  hash: string
  quads: number
  /** its distinct predicates, at most MAX_SUMMARY_PREDICATES (absent: more) */
  predicates?: string[]
  /** the owner's signature of this version (graph-version.ts), when the store has the owner's key */
  signed?: SignedGraphVersion
}

/** A version of another daemon's graph held here as one of its replicas. */
export interface Replica {
  signed: SignedGraphVersion
  canonical: string
}

interface StoredGraph extends GraphVersion {
  canonical: string
}

export interface GraphStoreInit {
  /** directory of the store's level database (under the repo) */
  path: string
  /** the owning daemon's peer id: graphs written here are named after it */
  owner: string
  /** the owner's key: each version is signed with it, and checked with it on start */
  key?: PrivateKey
  log: Logger
  /** a query's time limit when it asks for none, and the most it may ask for */
  queryTimeoutMs?: number
  /** rows (or quads) a query answers at most per page */
  maxRows?: number
  /**
   * The mesh as this daemon sees it, as N-Triples (mesh-graph.ts): loaded as
   * the derived graph `<owner>/mesh` before a query when it is older than
   * MESH_REFRESH_MS; never stored
   */
  meshGraph?: () => Promise<string>
}

/** The derived graph of the mesh is at most this old when a query reads it. */
export const MESH_REFRESH_MS = 500
/** The name of the derived graph; no write may take it. */
export const MESH_GRAPH = 'mesh'

export interface QueryOptions {
  /**
   * the graphs to query (their union is the default graph): this daemon's
   * own and the derived mesh graph when absent
   */
  graphs?: string[]
  timeoutMs?: number
  limit?: number
  offset?: number
  signal?: AbortSignal
}

export type QueryResult = QueryAnswer & {
  /** false when rows were left out past `limit` (ask again with `offset`) */
  complete: boolean
  elapsedMs: number
}

export type { AboutView } from './about.js'

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_ROWS = 10_000

/**
 * This daemon's knowledge graphs: an Oxigraph store in a worker thread
 * (store-worker.ts), made durable in a level database of its own. A write
 * is parsed, skolemised and applied in the worker, then its graph's
 * canonical N-Triples and their hash are written to level with `sync`
 * (fsync) before it is acknowledged. On start every stored graph is
 * checked against its hash and loaded; one that does not match is a
 * GraphCorruptError naming it, never a silent loss. A query runs under a
 * time limit: past it the worker is ended (Oxigraph cannot be interrupted),
 * a new one loads the durable graphs, and the query fails with
 * QueryTimeoutError; the daemon's event loop never waits on it.
 */
export class GraphStore {
  private readonly init: GraphStoreInit
  private db?: Level<string, string>
  private worker?: Worker
  private ready?: Promise<void>
  private readonly graphs = new Map<string, StoredGraph>()
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  /** writes and queries, one at a time: the worker serves them in order anyway */
  private queue: Promise<unknown> = Promise.resolve()
  /** when the derived mesh graph was last loaded (0: never, or into a worker since ended) */
  private meshAt = 0
  /** other daemons' graphs held as replicas, durable: IRI -> version */
  private readonly replicas = new Map<string, Replica>()
  /** other daemons' graphs loaded in the worker for mesh queries (not durable): IRI -> hash */
  private readonly remote = new Map<string, string>()
  private readonly writeListeners: Array<(v: GraphVersion) => void> = []
  private authorizeWrite?: (record: GraphVersionRecord) => Promise<string | undefined>

  constructor (init: GraphStoreInit) {
    this.init = init
  }

  /** Open the database, check and load every graph. Idempotent. */
  async start (): Promise<void> {
    if (this.db != null) return
    const db = new Level<string, string>(this.init.path)
    await db.open()
    this.db = db
    try {
      for await (const [key, value] of db.iterator({ gt: 'graph:', lt: 'graph;' })) {
        const name = key.slice('graph:'.length)
        let stored: StoredGraph
        try {
          stored = JSON.parse(value) as StoredGraph
        } catch (err: any) {
          throw new GraphCorruptError(`graph "${name}" in ${this.init.path} is not readable: ${err.message}`)
        }
        if (typeof stored.canonical !== 'string' || graphHash(stored.canonical) !== stored.hash) {
          throw new GraphCorruptError(`graph "${name}" in ${this.init.path} does not match its hash (version ${stored.version}); it was not loaded`)
        }
        // signed versions are checked against the owner's key too: a record changed at rest is refused
        if (stored.signed != null && this.init.key != null) {
          const refusal = await checkGraphVersion(stored.signed, this.init.key.publicKey, stored.canonical)
          if (refusal != null || stored.signed.record.version !== stored.version || stored.signed.record.hash !== stored.hash) {
            throw new GraphCorruptError(`graph "${name}" in ${this.init.path}: its signed version record does not match (${refusal ?? 'version or hash differs'}); it was not loaded`)
          }
        }
        this.graphs.set(name, stored)
      }
      for await (const [key, value] of db.iterator({ gt: 'replica:', lt: 'replica;' })) {
        const iri = key.slice('replica:'.length)
        // a replica that does not check out is dropped and fetched again from its owner or
        // another replica; the owner's copy is the one whose loss would be an error
        try {
          const replica = JSON.parse(value) as Replica
          const refusal = await checkGraphRecord(replica.signed)
          if (refusal != null || replica.signed.record.graph !== iri || graphHash(replica.canonical) !== replica.signed.record.hash) throw new Error(refusal ?? 'does not match its hash')
          this.replicas.set(iri, replica)
        } catch (err: any) {
          this.init.log.error('replica of %s in %s is corrupt (%s); dropped, to be fetched again', iri, this.init.path, err.message)
          await db.del(key)
        }
      }
      await this.spawn()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop (): Promise<void> {
    const worker = this.worker
    this.worker = undefined
    this.ready = undefined
    this.failWaiting(new Error('the knowledge store stopped'))
    await worker?.terminate()
    await this.db?.close()
    this.db = undefined
    this.graphs.clear()
    this.replicas.clear()
    this.remote.clear()
  }

  /** `listener` hears of every new version written here, once it is durable. */
  onWrite (listener: (v: GraphVersion) => void): void {
    this.writeListeners.push(listener)
  }

  /** The content of graph `iri` at `hash`, if this daemon holds it (as its owner or a replica). */
  content (iri: string, hash: string): string | undefined {
    const own = iri.startsWith(this.iri('')) ? this.graphs.get(iri.slice(this.iri('').length)) : undefined
    if (own != null) return own.hash === hash ? own.canonical : undefined
    const replica = this.replicas.get(iri)
    return replica?.signed.record.hash === hash ? replica.canonical : undefined
  }

  /** The versions of other daemons' graphs held here as replicas. */
  replicaVersions (): SignedGraphVersion[] {
    return [...this.replicas.values()].map(r => r.signed)
  }

  /**
   * Hold a version of another daemon's graph as one of its replicas,
   * durably: checked against its owner's signature and its content first
   * (a forged, tampered or replayed version is refused: the reason is
   * thrown), replacing an older one.
   */
  async holdReplica (signed: SignedGraphVersion, canonical: string): Promise<void> {
    await this.serial(async () => {
      const held = this.replicas.get(signed.record?.graph)
      const refusal = await checkGraphRecord(signed, held?.signed.record) ?? (graphHash(canonical) !== signed.record.hash ? 'tampered' : undefined)
      if (refusal != null) throw Object.assign(new Error(`replica of ${String(signed.record?.graph)} refused: ${refusal}`), { refusal })
      if (signed.record.owner === this.init.owner) throw new Error('a daemon does not replicate its own graphs')
      await this.db!.put(`replica:${signed.record.graph}`, JSON.stringify({ signed, canonical }), { sync: true })
      this.replicas.set(signed.record.graph, { signed, canonical })
    })
  }

  /** The hash of another daemon's graph as loaded for mesh queries, if it is. */
  loadedHash (iri: string): string | undefined {
    return this.remote.get(iri)
  }

  /** Load (or replace) another daemon's graph for mesh queries; its content is checked by the caller. */
  async loadRemote (iri: string, hash: string, canonical: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.serial(async () => {
      options.signal?.throwIfAborted()
      if (this.remote.get(iri) === hash) return
      await this.request({ op: 'replace', graph: iri, canonical })
      this.remote.set(iri, hash)
    })
  }

  /** The graphs a local query reads: this daemon's own and the derived mesh graph. */
  localGraphs (): string[] {
    const iris = [...this.graphs.values()].map(g => g.iri)
    if (this.init.meshGraph != null) iris.push(this.iri(MESH_GRAPH))
    return iris
  }

  /** Set what the derived graph of the mesh is made from; queries use it from the next one on. */
  setMeshGraph (meshGraph: () => Promise<string>): void {
    this.init.meshGraph = meshGraph
  }

  /**
   * In a secure mesh, what a write must get before it is made durable: the
   * owner's `graph/write` invocation for the new version's record (lib/auth
   * throws UnauthorizedError when this daemon holds no token for it; the
   * write is then undone). The invocation travels with the version.
   */
  setWriteGuard (authorize: (record: GraphVersionRecord) => Promise<string | undefined>): void {
    this.authorizeWrite = authorize
  }

  /** The IRI a graph written here has. */
  iri (name: string): string {
    return `urn:noodle:graph:${this.init.owner}/${name}`
  }

  list (): GraphVersion[] {
    return [...this.graphs.values()].map(({ canonical: _, ...v }) => v).sort((a, b) => a.name.localeCompare(b.name))
  }

  get (name: string): GraphVersion & { canonical: string } {
    const g = this.graphs.get(name)
    if (g == null) throw new GraphNotFoundError(`no graph "${name}" here`)
    return { ...g }
  }

  /**
   * Add RDF (`format`: a key of RDF_FORMATS or a media type) to graph `name`
   * of this daemon; resolves once the new version is on disk.
   */
  async add (name: string, data: string, options: { format?: string, baseIri?: string, signal?: AbortSignal } = {}): Promise<GraphVersion & { added: number }> {
    if (!GRAPH_NAME.test(name)) throw new InvalidRequestError(`a graph name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (got "${name}")`)
    if (name === MESH_GRAPH && this.init.meshGraph != null) throw new InvalidRequestError(`"${MESH_GRAPH}" is the graph of the mesh itself, made by the daemon; write to another`)
    const format = RDF_FORMATS[options.format ?? 'turtle'] ?? options.format ?? 'text/turtle'
    if (!Object.values(RDF_FORMATS).includes(format)) throw new InvalidRequestError(`unknown RDF format "${options.format}" (known: ${Object.keys(RDF_FORMATS).join(', ')})`)
    return await this.write(name, options.signal, async (iri) => {
      try {
        return await this.request({ op: 'add', graph: iri, data, format, ...(options.baseIri != null ? { baseIri: options.baseIri } : {}) }) as WriteOutcome
      } catch (err: any) {
        throw new RdfSyntaxError(`graph "${name}": ${err.message}`)
      }
    })
  }

  /**
   * SPARQL Update on graph `name` of this daemon, and only on it: the
   * update runs against that graph as its default graph (a GRAPH clause
   * names nothing else); the result is a new version, durable when this
   * resolves. `added` is the net change in quads.
   */
  async update (name: string, sparql: string, options: { signal?: AbortSignal } = {}): Promise<GraphVersion & { added: number }> {
    if (!this.graphs.has(name) && !GRAPH_NAME.test(name)) throw new InvalidRequestError(`a graph name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (got "${name}")`)
    if (name === MESH_GRAPH && this.init.meshGraph != null) throw new InvalidRequestError(`"${MESH_GRAPH}" is the graph of the mesh itself, made by the daemon; write to another`)
    return await this.write(name, options.signal, async (iri) => {
      try {
        return await this.request({ op: 'update', graph: iri, sparql }) as WriteOutcome
      } catch (err: any) {
        throw new SparqlSyntaxError(`graph "${name}": ${err.message}`)
      }
    })
  }

  /**
   * Empty graph `name` of this daemon: a new version with no triples (the
   * version number goes on, so replicas take it as newer). What
   * `update(name, 'DELETE WHERE { ?s ?p ?o }')` does, without copying the
   * graph through a scratch store first; durable when this resolves.
   */
  async clear (name: string, options: { signal?: AbortSignal } = {}): Promise<GraphVersion & { added: number }> {
    if (!this.graphs.has(name)) throw new InvalidRequestError(`this daemon has no graph "${name}"`)
    if (name === MESH_GRAPH && this.init.meshGraph != null) throw new InvalidRequestError(`"${MESH_GRAPH}" is the graph of the mesh itself, made by the daemon; write to another`)
    return await this.write(name, options.signal, async (iri) => {
      const had = this.graphs.get(name)?.quads ?? 0
      await this.request({ op: 'replace', graph: iri, canonical: '' })
      return { canonical: '', hash: graphHash(''), added: -had, predicates: [] }
    })
  }

  /** One write: `apply` changes the worker's copy of the graph; the new version is then made durable, or undone. */
  private async write (name: string, signal: AbortSignal | undefined, apply: (iri: string) => Promise<WriteOutcome>): Promise<GraphVersion & { added: number }> {
    return await this.serial(async () => {
      signal?.throwIfAborted()
      const iri = this.iri(name)
      const previous = this.graphs.get(name)
      const out = await apply(iri)
      const stored: StoredGraph = { name, iri, version: (previous?.version ?? 0) + 1, hash: out.hash, quads: countLines(out.canonical), ...(out.predicates != null ? { predicates: out.predicates } : {}), canonical: out.canonical }
      if (this.init.key != null) {
        stored.signed = await signGraphVersion(this.init.key, { v: 1, graph: iri, owner: this.init.owner, version: stored.version, hash: stored.hash, quads: stored.quads, at: Date.now(), ...(out.predicates != null ? { predicates: out.predicates } : {}) })
      }
      try {
        if (this.authorizeWrite != null) {
          const record: GraphVersionRecord = stored.signed?.record ?? { v: 1, graph: iri, owner: this.init.owner, version: stored.version, hash: stored.hash, quads: stored.quads, at: Date.now() }
          const auth = await this.authorizeWrite(record)
          if (auth != null && stored.signed != null) stored.signed.auth = auth
        }
        await this.db!.put(`graph:${name}`, JSON.stringify(stored), { sync: true })
      } catch (err) {
        // not allowed or not durable, so not applied: the worker goes back to what is on disk
        await this.request({ op: 'replace', graph: iri, canonical: previous?.canonical ?? '' }).catch(() => {})
        throw err
      }
      this.graphs.set(name, stored)
      const { canonical: _, ...version } = stored
      for (const listener of this.writeListeners) {
        try {
          listener(version)
        } catch (err) {
          this.init.log.error('a listener of knowledge writes failed: %e', err)
        }
      }
      return { ...version, added: out.added }
    })
  }

  /**
   * Add what the built-in analyzer finds in `text` (extract.ts: entities,
   * relations, and their provenance) to graph `name`.
   */
  async addText (name: string, text: string, options: { source?: string, signal?: AbortSignal, found?: AnalyzerAnswer } = {}): Promise<GraphVersion & { added: number, item: string, extraction: Extraction, analyzer: AnalyzerInfo }> {
    // loaded on first use: the analyzer (compromise, ~1 MB of rules) is not what an idle daemon needs
    const { extractionTriples, extractionFrom, ANALYZER } = await import('./extract.js')
    const { ntriples, extraction, item } = extractionTriples(text, {
      ...(options.source != null ? { source: options.source } : {}),
      // what an analyzer service found (the daemon called it), else the built-in analyzer runs
      ...(options.found != null ? { extraction: extractionFrom(options.found), analyzer: options.found.analyzer } : {})
    })
    const version = await this.add(name, ntriples, { format: 'ntriples', ...(options.signal != null ? { signal: options.signal } : {}) })
    return { ...version, item, extraction, analyzer: options.found?.analyzer ?? ANALYZER }
  }

  /** SELECT, ASK, CONSTRUCT or DESCRIBE over every graph here (their union is the default graph). */
  async query (sparql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const max = this.init.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
    const timeoutMs = Math.min(Math.max(1, options.timeoutMs ?? max), max)
    const maxRows = this.init.maxRows ?? DEFAULT_MAX_ROWS
    const limit = Math.min(Math.max(0, options.limit ?? maxRows), maxRows)
    const offset = Math.max(0, options.offset ?? 0)
    return await this.serial(async () => {
      options.signal?.throwIfAborted()
      const started = performance.now()
      await this.refreshMesh()
      let timer: ReturnType<typeof setTimeout> | undefined
      const overrun = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new QueryTimeoutError(`the query ran past its ${timeoutMs} ms limit and was stopped`)) }, timeoutMs)
      })
      try {
        // local: this daemon's graphs only, once graphs of others are loaded beside them
        const graphs = options.graphs ?? (this.remote.size > 0 ? this.localGraphs() : undefined)
        const answer = await raceSignal(Promise.race([this.request({ op: 'query', sparql, limit, offset, ...(graphs != null ? { graphs } : {}) }), overrun]), options.signal) as QueryAnswer
        const total = 'total' in answer ? answer.total : 1
        return { ...answer, complete: offset + limit >= total, elapsedMs: Math.round((performance.now() - started) * 100) / 100 }
      } catch (err: any) {
        if (err instanceof QueryTimeoutError || options.signal?.aborted === true) {
          // Oxigraph cannot be interrupted: end its thread, and load the durable graphs into a new one
          this.init.log('query stopped after %d ms; reloading the store', Math.round(performance.now() - started))
          await this.restart()
          throw err
        }
        throw /error at \d+:\d+|expected|unexpected/i.test(String(err.message)) ? new SparqlSyntaxError(String(err.message)) : err
      } finally {
        clearTimeout(timer)
      }
    })
  }

  private async refreshMesh (): Promise<void> {
    if (this.init.meshGraph == null || Date.now() - this.meshAt < MESH_REFRESH_MS) return
    const ntriples = await this.init.meshGraph()
    await this.request({ op: 'replace', graph: this.iri(MESH_GRAPH), canonical: ntriples })
    this.meshAt = Date.now()
  }

  private async serial<T> (f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f, f)
    this.queue = run.catch(() => {})
    return await run
  }

  private async spawn (): Promise<void> {
    this.meshAt = 0
    // graphs of others loaded for mesh queries are loaded again when a query needs them
    this.remote.clear()
    const worker = new Worker(new URL('./store-worker.js', import.meta.url), { execArgv: [] })
    worker.on('message', (res: StoreResponse) => {
      const w = this.waiting.get(res.id)
      if (w == null) return
      this.waiting.delete(res.id)
      if ('error' in res) w.reject(Object.assign(new Error(res.error.message), { name: res.error.name }))
      else w.resolve(res.value)
    })
    worker.on('error', (err) => { this.init.log.error('knowledge store worker failed: %e', err) })
    worker.once('exit', () => {
      if (this.worker === worker) this.failWaiting(new Error('the knowledge store worker ended'))
    })
    this.worker = worker
    for (const g of this.graphs.values()) await this.request({ op: 'replace', graph: g.iri, canonical: g.canonical })
  }

  private async restart (): Promise<void> {
    const old = this.worker
    this.worker = undefined
    this.failWaiting(new Error('the knowledge store restarted'))
    await old?.terminate()
    await this.spawn()
  }

  private async request (req: WithoutId<StoreRequest>): Promise<unknown> {
    const worker = this.worker
    if (worker == null) throw new Error('the knowledge store is not started')
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      worker.postMessage({ ...req, id })
    })
  }

  private failWaiting (err: Error): void {
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
  }
}

/** Omit over each member of a union (Omit over the union itself keeps only the common keys). */
/** What the worker answers for a write: the graph's new canonical bytes, their hash, and the net change. */
interface WriteOutcome { canonical: string, hash: string, added: number, predicates?: string[] }

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

function countLines (canonical: string): number {
  let n = 0
  for (let i = canonical.indexOf('\n'); i >= 0; i = canonical.indexOf('\n', i + 1)) n++
  return n
}
