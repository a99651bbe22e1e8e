import type { GossipSub } from '@libp2p/gossipsub'
import { serviceCapabilities, serviceDependencies, type ComponentLogger, type Libp2pEvents, type Logger, type PeerId, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { MemberEventView, MemberView } from '../interface/api.js'
import { GraphUnavailableError, InvalidRequestError } from '../interface/errors.js'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { compareDistance, memberKadId, xor } from '../placement/keys.js'
import { Replicator } from '../replication/index.js'
import { timeoutSignal } from '../signals.js'
import { GraphCatalog, type GraphDigest, type GraphWriteGuard } from './graph-catalog.js'
import type { GraphStore, QueryResult } from './graph-store.js'
import { fetchGraph, serveGraph } from './graph-transfer.js'
import { graphName, type GraphVersionRecord, type SignedGraphVersion } from './graph-version.js'
import { graphRelevant, queryPredicates } from './source-selection.js'
import { aboutQuery, aboutView, type AboutView } from './about.js'

/** Replicas of each graph besides its owner: the members closest to the graph's key. */
export const DEFAULT_GRAPH_REPLICAS = 2
/** Anti-entropy of the graph catalog, as for the other catalogs. */
export const GRAPH_SYNC_INTERVAL_MS = 30_000
/** A mesh query's deadline when it names none. */
export const DEFAULT_MESH_DEADLINE_MS = 5_000
/** Of a mesh query's deadline, the share spent getting the graphs it needs; the rest is the query's. */
const FETCH_SHARE = 0.7

export interface KnowledgeInit {
  /** this daemon's knowledge graphs; the service is off without one */
  store: GraphStore
  /** @default '/noodle' */
  protocolPrefix?: string
  /** @default DEFAULT_GRAPH_REPLICAS */
  replicas?: number
  /** @default GRAPH_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
}

export interface KnowledgeComponents {
  peerId: PeerId
  pubsub: GossipSub
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  membership: {
    members: () => MemberView[]
    addEventListener: (type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void) => void
    removeEventListener: (type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void) => void
  }
  /** capability tokens and the audit trail (lib/auth): in a secure mesh each version needs `graph/write` on `kg:<name>` */
  auth?: GraphWriteGuard & {
    authorize: (can: 'graph/write', resource: string, value: unknown, type: 'graph-write') => Promise<string | undefined>
    audit: { append: (type: 'graph-refused', detail: Record<string, unknown>) => Promise<unknown> }
  }
}

export type QueryScope = 'local' | 'mesh'

/** One graph of the mesh as its catalog knows it: its signed record's fields, and who holds it. */
export type MeshGraphView = Pick<GraphVersionRecord, 'graph' | 'owner' | 'version' | 'hash' | 'quads' | 'at'> & {
  /** the members holding it besides its owner (the closest to its key) */
  holders: string[]
}


/** How each graph a mesh query needed was had. */
export interface QuerySource {
  graph: string
  owner: string
  version: number
  /** local: this daemon's own; held: a replica here; cached: loaded before; fetched: got now; unavailable: not within the deadline */
  status: 'local' | 'held' | 'cached' | 'fetched' | 'unavailable'
  /** the daemon it came from, when fetched */
  from?: string
  /** the daemons asked, when unavailable, and why each failed */
  tried?: Array<{ peer: string, error: string }>
}

export type KnowledgeQueryResult = QueryResult & {
  scope: QueryScope
  /** rows were left out past the limit (ask again with an offset); `complete` is false then too */
  paged: boolean
  /** every graph the query read or needed, and how it was had (mesh scope) */
  sources: QuerySource[]
  /** graphs of the catalog left out because none of their predicates is in the query (mesh scope) */
  skipped: number
}

export interface KnowledgeQueryOptions {
  scope?: QueryScope
  timeoutMs?: number
  limit?: number
  offset?: number
  signal?: AbortSignal
}

export interface KnowledgeStats {
  graphs: number
  replicasHeld: number
  refused: GraphCatalog['refusals']
  conflicts: number
  served: number
  fetched: number
  gossipRejected: number
  pulls: number
}

/**
 * The knowledge graphs across the mesh. Every daemon holds the catalog of
 * all graphs (signed versions, replicated like the other catalogs); each
 * graph's content lives with its owner and with the `replicas` members
 * closest to the graph's key, as placement does for services, so a graph
 * is still answered while its owner is down. A mesh-scope query ships the
 * graphs it can match (source selection on the predicates each version
 * lists) to the daemon that asked, checks each against its signed hash,
 * and runs there over one store: a join across graphs of different owners
 * gives what one store holding them all gives (docs/knowledge.md).
 */
export class Knowledge implements Startable {
  readonly catalog: GraphCatalog
  readonly store: GraphStore
  readonly transferProtocol: string
  private readonly components: KnowledgeComponents
  private readonly replicator: Replicator<GraphDigest>
  private readonly self: string
  private readonly replicas: number
  private readonly log: Logger
  private started = false
  private reconciling?: Promise<void>
  private again = false
  private served = 0
  private fetched = 0

  constructor (components: KnowledgeComponents, init: KnowledgeInit) {
    this.components = components
    this.store = init.store
    this.self = components.peerId.toString()
    this.replicas = init.replicas ?? DEFAULT_GRAPH_REPLICAS
    const prefix = init.protocolPrefix ?? '/noodle'
    this.transferProtocol = `${prefix}/knowledge/graph/1.0.0`
    this.log = components.logger.forComponent('noodled:knowledge')
    this.catalog = new GraphCatalog(components.auth)
    const catalog = this.catalog
    this.replicator = new Replicator(components, {
      name: 'graph catalog',
      topic: `${prefix}/knowledge/1`.replace(/^\//, ''),
      protocol: `${prefix}/knowledge/sync/1.0.0`,
      set: {
        digest: () => catalog.digest(),
        missing: (theirs) => catalog.missing(theirs),
        behind: (theirs) => catalog.behind(theirs),
        verifyGossip: async (entries, from) => {
          for (const e of entries) {
            const refusal = await catalog.check(e)
            // an older version is not the forwarder's fault (gossip crosses writes); the rest is
            if (refusal != null && refusal !== 'replayed') throw new Error(`graph version refused: ${refusal} (from ${from.toString()})`)
          }
        },
        merge: async (entries) => await catalog.merge(entries)
      },
      wire: {
        gossipField: 'entries',
        gossipVersion: true,
        maxGossipEntries: 16,
        maxGossipBytes: 16 * 24 * 1024,
        requestField: 'have',
        digestSchema: z.record(z.string().max(512), z.number().int().min(0)),
        maxRequestBytes: 16 * 1024 * 1024,
        responseField: 'entries',
        maxResponseEntries: 100_000,
        maxResponseBytes: 64 * 1024 * 1024
      },
      log: this.log,
      syncIntervalMs: init.syncIntervalMs ?? GRAPH_SYNC_INTERVAL_MS,
      pushPeers: 2,
      pullOnConnect: 'always',
      pullOnSubscribe: true
    })
    // once, here: a start after a stop must not add a second listener
    this.store.onWrite((v) => {
      if (!this.started || v.signed == null) return
      void this.catalog.merge([v.signed]).then(async ({ applied }) => { if (applied.length > 0) await this.replicator.announce(applied) })
        .catch((err) => { this.log.error('announcing %s failed: %e', v.iri, err) })
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/knowledge'
  readonly [serviceCapabilities]: string[] = ['noodled:knowledge']
  // auth before: its tokens and audit trail are loaded by the time the catalog merges
  readonly [serviceDependencies]: string[] = ['noodled:membership', 'noodled:auth']

  private readonly onChange = (): void => { this.reconcileSoon() }
  private readonly onMember = (evt: CustomEvent<MemberEventView>): void => {
    if (evt.detail.type !== 'suspect') this.reconcileSoon()
  }

  private readonly onRefused = (evt: CustomEvent<Record<string, unknown>>): void => {
    this.log('refused a graph version: %o', evt.detail)
    void this.components.auth?.audit.append('graph-refused', evt.detail).catch(() => {})
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(this.transferProtocol, limitInbound(this.transferProtocol, INBOUND_LIMITS.sync, (stream, connection) => {
      void serveGraph(stream, connection, (graph, hash) => this.store.content(graph, hash), timeoutSignal(60_000))
        .then((sent) => { if (sent != null) this.served++ })
        .catch((err) => { this.log.trace('serving a graph to %p failed: %e', connection.remotePeer, err) })
    }), { maxInboundStreams: 16, maxOutboundStreams: 16 })
    const auth = this.components.auth
    if (auth != null) this.store.setWriteGuard(async (record) => await auth.authorize('graph/write', `kg:${graphName(record)}`, record, 'graph-write'))
    // what this daemon holds is in its catalog before any peer asks
    const own = this.store.list().flatMap(g => g.signed != null ? [g.signed] : [])
    await this.catalog.merge([...own, ...this.store.replicaVersions()])
    this.catalog.addEventListener('change', this.onChange)
    this.catalog.addEventListener('refused', this.onRefused as any)
    this.components.membership.addEventListener('member', this.onMember)
    await this.replicator.start()
    this.started = true
  }

  afterStart (): void {
    this.replicator.afterStart()
    this.reconcileSoon()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.catalog.removeEventListener('change', this.onChange)
    this.catalog.removeEventListener('refused', this.onRefused as any)
    this.components.membership.removeEventListener('member', this.onMember)
    await this.replicator.stop()
    await this.components.registrar.unhandle(this.transferProtocol)
    await this.reconciling?.catch(() => {})
  }

  stats (): KnowledgeStats {
    const r = this.replicator.counters
    return { graphs: this.catalog.all().length, replicasHeld: this.store.replicaVersions().length, refused: { ...this.catalog.refusals }, conflicts: this.catalog.conflicts, served: this.served, fetched: this.fetched, gossipRejected: r.gossipRejected, pulls: r.pulls }
  }

  /**
   * The members that hold a graph besides its owner: the `replicas` live
   * members (the owner left out) whose Kademlia ids are closest to
   * SHA-256 of the graph's IRI, as placement ranks owners for a service.
   */
  holders (graph: string, owner: string): string[] {
    const key = new Uint8Array(createHash('sha256').update(`/noodle/graph/${graph}`).digest())
    return this.components.membership.members()
      .filter(m => m.peerId !== owner && (m.status === 'alive' || m.status === 'suspect'))
      .map(m => ({ peerId: m.peerId, d: xor(memberKadId(m.peerId), key) }))
      .sort((a, b) => compareDistance(a.d, b.d))
      .slice(0, this.replicas)
      .map(m => m.peerId)
  }

  /** Run one pass of replica upkeep soon; passes never overlap, and a change during one asks for another. */
  private reconcileSoon (): void {
    if (!this.started) return
    if (this.reconciling != null) {
      this.again = true
      return
    }
    this.reconciling = (async () => {
      do {
        this.again = false
        await this.reconcile()
      } while (this.again && this.started)
    })().catch((err) => { this.log.error('replica upkeep failed: %e', err) }).finally(() => { this.reconciling = undefined })
  }

  /** Hold the newest version of every graph this daemon is a replica of. */
  private async reconcile (): Promise<void> {
    const held = new Map(this.store.replicaVersions().map(s => [s.record.graph, s.record.version]))
    for (const entry of this.catalog.all()) {
      if (!this.started) return
      const { graph, owner, version } = entry.record
      if (owner === this.self || (held.get(graph) ?? 0) >= version) continue
      if (!this.holders(graph, owner).includes(this.self)) continue
      try {
        const { text, from } = await this.fetchVersion(entry, timeoutSignal(60_000))
        await this.store.holdReplica(entry, text)
        this.log('holding %s version %d (from %s)', graph, version, from)
      } catch (err: any) {
        this.log('could not take a replica of %s version %d yet: %s', graph, version, err.message)
      }
    }
  }

  /** Fetch a version's content from its owner or a replica (live ones first), checked against its signed hash. */
  private async fetchVersion (entry: SignedGraphVersion, signal: AbortSignal, tried: Array<{ peer: string, error: string }> = []): Promise<{ text: string, from: string }> {
    const { graph, owner, hash } = entry.record
    const status = new Map(this.components.membership.members().map(m => [m.peerId, m.status]))
    const rank = (p: string): number => ({ alive: 0, suspect: 1 } as Record<string, number>)[status.get(p) ?? ''] ?? 2
    const candidates = [...new Set([owner, ...this.holders(graph, owner)])].filter(p => p !== this.self).sort((a, b) => rank(a) - rank(b))
    for (const peer of candidates) {
      if (signal.aborted) break
      if (rank(peer) === 2) {
        tried.push({ peer, error: `member is ${status.get(peer) ?? 'unknown'}` })
        continue
      }
      try {
        const text = await fetchGraph(this.components.connectionManager, peerIdFromString(peer), this.transferProtocol, graph, hash, { signal })
        this.fetched++
        return { text, from: peer }
      } catch (err: any) {
        tried.push({ peer, error: signal.aborted ? 'deadline' : String(err.message ?? err) })
      }
    }
    throw Object.assign(new GraphUnavailableError(`no daemon served ${graph} version ${entry.record.version}: ${tried.map(t => `${t.peer} (${t.error})`).join(', ') || 'none to ask'}`), { tried })
  }

  /**
   * What the graphs say about an entity (about.ts), by default every graph
   * of the mesh; the answer names the graph of each statement, and whether
   * every graph needed was there.
   */
  async about (nameOrIri: string, options: KnowledgeQueryOptions = {}): Promise<AboutView & Pick<KnowledgeQueryResult, 'scope' | 'complete' | 'sources'>> {
    const q = aboutQuery(nameOrIri)
    const res = await this.query(q.sparql, { scope: 'mesh', ...options })
    return { ...aboutView(q.query, res), scope: res.scope, complete: res.complete, sources: res.sources.filter(s => s.status === 'unavailable') }
  }

  /**
   * A SPARQL query. Local scope: this daemon's own graphs. Mesh scope:
   * every graph in the catalog that can match the query, each at its
   * newest version, fetched from its owner or a replica when not already
   * here; a graph no daemon served within the deadline is named in
   * `sources` as unavailable and the answer is `complete: false`.
   */
  async query (sparql: string, options: KnowledgeQueryOptions = {}): Promise<KnowledgeQueryResult> {
    const scope = options.scope ?? 'local'
    if (scope !== 'local' && scope !== 'mesh') throw new InvalidRequestError(`scope is "local" or "mesh", not "${String(scope)}"`)
    const base = { ...(options.limit != null ? { limit: options.limit } : {}), ...(options.offset != null ? { offset: options.offset } : {}), ...(options.signal != null ? { signal: options.signal } : {}) }
    if (scope === 'local') {
      const res = await this.store.query(sparql, { ...base, ...(options.timeoutMs != null ? { timeoutMs: options.timeoutMs } : {}) })
      return { ...res, scope, paged: !res.complete, sources: [], skipped: 0 }
    }
    const started = performance.now()
    const deadlineMs = Math.max(1, options.timeoutMs ?? DEFAULT_MESH_DEADLINE_MS)
    const wanted = queryPredicates(sparql)
    const sources: QuerySource[] = []
    let skipped = 0
    const fetchSignal = AbortSignal.any([timeoutSignal(Math.max(1, Math.round(deadlineMs * FETCH_SHARE))), ...(options.signal != null ? [options.signal] : [])])
    const graphs = this.store.localGraphs()
    await Promise.all(this.catalog.all().map(async (entry) => {
      const { graph, owner, version, hash, predicates } = entry.record
      if (!graphRelevant(wanted, predicates)) {
        skipped++
        return
      }
      const source: QuerySource = { graph, owner, version, status: 'local' }
      sources.push(source)
      if (owner === this.self) {
        // the store is the source of truth for its own graphs (its catalog entry may lag a write by a turn)
        return
      }
      try {
        if (this.store.loadedHash(graph) === hash) {
          source.status = 'cached'
        } else {
          const heldText = this.store.content(graph, hash)
          if (heldText != null) {
            source.status = 'held'
            await this.store.loadRemote(graph, hash, heldText, { signal: fetchSignal })
          } else {
            const tried: Array<{ peer: string, error: string }> = []
            try {
              const { text, from } = await this.fetchVersion(entry, fetchSignal, tried)
              source.status = 'fetched'
              source.from = from
              await this.store.loadRemote(graph, hash, text, { signal: fetchSignal })
            } catch (err) {
              source.status = 'unavailable'
              source.tried = tried
              return
            }
          }
        }
        graphs.push(graph)
      } catch (err: any) {
        source.status = 'unavailable'
        source.tried = [{ peer: this.self, error: String(err.message ?? err) }]
      }
    }))
    sources.sort((a, b) => a.graph.localeCompare(b.graph))
    const left = Math.max(1, Math.round(deadlineMs - (performance.now() - started)))
    const res = await this.store.query(sparql, { ...base, graphs, timeoutMs: left })
    const allThere = sources.every(s => s.status !== 'unavailable')
    return { ...res, scope, paged: !res.complete, complete: res.complete && allThere, sources, skipped }
  }
}
