import { TypedEventEmitter } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import type { ServiceSpec } from '../placement/spec.js'
import { CATALOG_PREFIX, TOMBSTONE_TTL_MS } from './constants.js'
import { authorizedPart, decodeEntry, encodeEntry, newer, parseEntry, type CatalogEntry } from './entry.js'
import { ServiceNotFoundError } from './errors.js'

export interface ServiceCatalogInit {
  datastore: Datastore
  /** this node's peer id: the author of its writes */
  self: string
  /** @default TOMBSTONE_TTL_MS */
  tombstoneTtlMs?: number
  /** capability checks (lib/auth): a local write carries an invocation, a peer's is verified */
  guard?: CatalogGuard
}

/** What the catalog needs of lib/auth's Auth service. */
export interface CatalogGuard {
  authorize: (can: 'service/deploy' | 'service/remove', resource: string, value: unknown, type: 'deploy' | 'remove') => Promise<string | undefined>
  check: (auth: string | undefined, expect: { can: 'service/deploy' | 'service/remove', resource: string, value: unknown, author: string }) => Promise<unknown>
  recordAccepted: (detail: Record<string, unknown>) => Promise<void>
}

export interface ServiceCatalogEvents {
  /** an entry was added, replaced or deleted, by a local write or a merge */
  change: CustomEvent<CatalogEntry>
}

export interface MergeResult {
  /** entries that replaced what this replica held */
  applied: CatalogEntry[]
  /** entries refused as malformed (counted, never applied) */
  rejected: number
  /** entries refused for want of a valid capability token (counted in rejected too) */
  unauthorized: number
}

/**
 * The replicated service catalog: a map of last-writer-wins registers (see
 * entry.ts), persisted in the repo's datastore so a restarted node starts
 * from what it knew, and merged with what peers send (gossip and
 * anti-entropy carry the entries; merging is commutative, associative and
 * idempotent, so order and repetition do not matter).
 */
export class ServiceCatalog extends TypedEventEmitter<ServiceCatalogEvents> {
  private readonly init: ServiceCatalogInit
  private readonly entries = new Map<string, CatalogEntry>()
  private clock = 0
  rejected = 0
  unauthorized = 0

  constructor (init: ServiceCatalogInit) {
    super()
    this.init = init
  }

  /** Load the persisted catalog; entries that no longer parse are skipped and counted. */
  async load (options: { signal?: AbortSignal } = {}): Promise<void> {
    for await (const { value } of this.init.datastore.query({ prefix: CATALOG_PREFIX }, options)) {
      try {
        this.remember(decodeEntry(value))
      } catch {
        this.rejected++
      }
    }
  }

  /** Live services, by name. */
  list (): ServiceSpec[] {
    return [...this.entries.values()].filter(e => !e.deleted).map(e => e.spec!).sort((a, b) => a.name.localeCompare(b.name))
  }

  get (name: string): ServiceSpec {
    const e = this.entries.get(name)
    if (e == null || e.deleted) throw new ServiceNotFoundError(`no service "${name}" in the catalog`)
    return e.spec!
  }

  has (name: string): boolean {
    const e = this.entries.get(name)
    return e != null && !e.deleted
  }

  /** Every entry, tombstones included: what a peer needs to converge with this replica. */
  all (): CatalogEntry[] {
    return [...this.entries.values()]
  }

  /** Declare or replace a service (a local write). */
  async put (spec: ServiceSpec, options: { signal?: AbortSignal } = {}): Promise<CatalogEntry> {
    return this.write(await this.signed({ name: spec.name, version: ++this.clock, author: this.init.self, updatedAt: Date.now(), deleted: false, spec }), options)
  }

  /** A local write carries its author's invocation; refused (UnauthorizedError) when this node holds no token for it. */
  private async signed (entry: CatalogEntry): Promise<CatalogEntry> {
    const guard = this.init.guard
    if (guard == null) return entry
    const can = entry.deleted ? 'service/remove' : 'service/deploy'
    const auth = await guard.authorize(can, `svc:${entry.name}`, authorizedPart(entry), entry.deleted ? 'remove' : 'deploy')
    return auth == null ? entry : { ...entry, auth }
  }

  /** Delete a service, leaving a tombstone that outranks every older copy. */
  async remove (name: string, options: { signal?: AbortSignal } = {}): Promise<CatalogEntry> {
    if (!this.has(name)) throw new ServiceNotFoundError(`no service "${name}" in the catalog`)
    return this.write(await this.signed({ name, version: ++this.clock, author: this.init.self, updatedAt: Date.now(), deleted: true }), options)
  }

  /** Take entries from a peer; the newer of each pair wins. */
  async merge (incoming: unknown[], options: { signal?: AbortSignal } = {}): Promise<MergeResult> {
    const applied: CatalogEntry[] = []
    let rejected = 0
    let unauthorized = 0
    for (const raw of incoming) {
      let entry: CatalogEntry
      try {
        entry = parseEntry(raw)
      } catch {
        rejected++
        continue
      }
      if (!newer(entry, this.entries.get(entry.name))) continue
      const guard = this.init.guard
      if (guard != null) {
        const can = entry.deleted ? 'service/remove' : 'service/deploy'
        try {
          await guard.check(entry.auth, { can, resource: `svc:${entry.name}`, value: authorizedPart(entry), author: entry.author })
        } catch {
          // an unauthorised write neither applies nor moves the clock
          rejected++
          unauthorized++
          continue
        }
      }
      this.clock = Math.max(this.clock, entry.version)
      const written = await this.write(entry, options)
      applied.push(written)
      if (guard != null && entry.author !== this.init.self) await guard.recordAccepted({ op: entry.deleted ? 'remove' : 'deploy', service: entry.name, version: entry.version, author: entry.author })
    }
    this.rejected += rejected
    this.unauthorized += unauthorized
    return { applied, rejected, unauthorized }
  }

  /** Forget tombstones older than the TTL. */
  async collect (now = Date.now(), options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const ttl = this.init.tombstoneTtlMs ?? TOMBSTONE_TTL_MS
    const gone = [...this.entries.values()].filter(e => e.deleted && now - e.updatedAt >= ttl).map(e => e.name)
    for (const name of gone) {
      this.entries.delete(name)
      await this.init.datastore.delete(this.key(name), options)
    }
    return gone
  }

  /**
   * Writes run one at a time, so the datastore never ends up holding an
   * older entry than memory when two writes to one name interleave.
   */
  private async write (entry: CatalogEntry, options: { signal?: AbortSignal }): Promise<CatalogEntry> {
    const run = this.writing.then(async () => {
      if (!newer(entry, this.entries.get(entry.name)) && this.entries.get(entry.name) !== entry) return entry
      // persisted before it is visible: a crash right after never loses an acknowledged write
      await this.init.datastore.put(this.key(entry.name), encodeEntry(entry), options)
      this.remember(entry)
      this.safeDispatchEvent('change', { detail: entry })
      return entry
    })
    this.writing = run.catch(() => {})
    return run
  }

  private writing: Promise<unknown> = Promise.resolve()

  private remember (entry: CatalogEntry): void {
    this.clock = Math.max(this.clock, entry.version)
    if (newer(entry, this.entries.get(entry.name))) this.entries.set(entry.name, entry)
  }

  private key (name: string): Key {
    return new Key(`${CATALOG_PREFIX}/${name}`)
  }
}
