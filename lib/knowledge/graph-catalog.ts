import { TypedEventEmitter } from '@libp2p/interface'
import { checkGraphRecord, graphName, type GraphVersionRefusal, type SignedGraphVersion } from './graph-version.js'

/** What the catalog needs of lib/auth in a secure mesh: a version's `graph/write` invocation is checked. */
export interface GraphWriteGuard {
  check: (auth: string | undefined, expect: { can: 'graph/write', resource: string, value: unknown, author: string }) => Promise<unknown>
}

export interface GraphCatalogEvents {
  /** a graph's version is new here */
  change: CustomEvent<SignedGraphVersion>
  /** a version from elsewhere was refused, and why */
  refused: CustomEvent<{ graph: unknown, owner: unknown, version: unknown, reason: GraphVersionRefusal, from?: string }>
}

/** What a daemon holds, for a pull: graph IRI -> version. */
export type GraphDigest = Record<string, number>

/**
 * The catalog of every graph in the mesh: for each graph IRI, the newest
 * version its owner has signed (graph-version.ts): owner, version, content
 * hash, size and predicate summary, never the content. Every daemon holds
 * all of it (it is small) through the replicator (lib/replication);
 * content travels on demand (graph-transfer.ts).
 *
 * Merging is order-free: per graph the higher version wins, and for one
 * version signed twice with different content (an owner that equivocates)
 * the smaller hash, so every daemon keeps the same entry. A version not
 * signed by the graph's owner (forged), or older than the one held
 * (replayed), is refused and counted.
 */
export class GraphCatalog extends TypedEventEmitter<GraphCatalogEvents> {
  private readonly entries = new Map<string, SignedGraphVersion>()
  readonly refusals: Record<GraphVersionRefusal, number> = { forged: 0, tampered: 0, replayed: 0, malformed: 0, unauthorized: 0 }
  /** the same version of a graph signed twice over different content */
  conflicts = 0
  private readonly guard?: GraphWriteGuard

  /** @param guard in a secure mesh, lib/auth: each version's `graph/write` on `kg:<name>` is checked */
  constructor (guard?: GraphWriteGuard) {
    super()
    if (guard != null) this.guard = guard
  }

  get (graph: string): SignedGraphVersion | undefined {
    return this.entries.get(graph)
  }

  all (): SignedGraphVersion[] {
    return [...this.entries.values()]
  }

  digest (): GraphDigest {
    const out: GraphDigest = {}
    for (const [graph, e] of this.entries) out[graph] = e.record.version
    return out
  }

  /** entries a peer holding `theirs` lacks or holds older */
  missing (theirs: GraphDigest): SignedGraphVersion[] {
    return this.all().filter(e => (theirs[e.record.graph] ?? 0) < e.record.version)
  }

  /** true when `theirs` names a graph this catalog lacks or holds older */
  behind (theirs: GraphDigest): boolean {
    return Object.entries(theirs).some(([graph, version]) => (this.entries.get(graph)?.record.version ?? 0) < version)
  }

  /** Check one entry's signature and age without taking it (gossip is checked so): why it would be refused, if it would. */
  async check (entry: unknown): Promise<GraphVersionRefusal | undefined> {
    const signed = entry as SignedGraphVersion
    const refusal = await checkGraphRecord(signed)
    if (refusal != null) return refusal
    const held = this.entries.get(signed.record.graph)
    if (held != null && signed.record.version < held.record.version) return 'replayed'
    return undefined
  }

  /** In a secure mesh, the owner's `graph/write` invocation for this version (lib/auth audits a denial). */
  private async authorized (signed: SignedGraphVersion): Promise<boolean> {
    if (this.guard == null) return true
    try {
      await this.guard.check(signed.auth, { can: 'graph/write', resource: `kg:${graphName(signed.record)}`, value: signed.record, author: signed.record.owner })
      return true
    } catch {
      return false
    }
  }

  /** Take entries from elsewhere (or this daemon's own writes): those that were new here, and how many were refused. */
  async merge (entries: unknown[], from?: string): Promise<{ applied: SignedGraphVersion[], rejected: number }> {
    const applied: SignedGraphVersion[] = []
    let rejected = 0
    for (const entry of entries) {
      const signed = entry as SignedGraphVersion
      const held = this.entries.get(signed?.record?.graph)
      let refusal = await this.check(entry)
      // an entry already held is not checked again; a new one needs the owner's capability
      const duplicate = refusal == null && held?.record.version === signed.record.version && held.record.hash === signed.record.hash
      if (refusal == null && !duplicate && !await this.authorized(signed)) refusal = 'unauthorized'
      if (refusal != null) {
        this.refusals[refusal]++
        rejected++
        this.safeDispatchEvent('refused', { detail: { graph: signed?.record?.graph, owner: signed?.record?.owner, version: signed?.record?.version, reason: refusal, ...(from != null ? { from } : {}) } })
        continue
      }
      if (held != null && held.record.version === signed.record.version) {
        if (held.record.hash === signed.record.hash) continue
        this.conflicts++
        if (held.record.hash < signed.record.hash) continue
      }
      // only the fields that were signed travel on
      const clean: SignedGraphVersion = { record: { ...signed.record }, signature: signed.signature, ...(signed.auth != null ? { auth: signed.auth } : {}) }
      this.entries.set(signed.record.graph, clean)
      applied.push(clean)
      this.safeDispatchEvent('change', { detail: clean })
    }
    return { applied, rejected }
  }
}
