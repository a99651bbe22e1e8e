import { TypedEventEmitter, type AbortOptions } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import { ConflictError } from '../interface/errors.js'
import { preferred, publishedFields, verifyEntry, type ModuleCatalogEntry } from './catalog-entry.js'
import type { ModuleVersion, VersionSource } from './resolver.js'

const PREFIX = '/noodle/modules/catalog'

export interface ModuleCatalogEvents {
  change: CustomEvent<ModuleCatalogEntry>
}

export interface CatalogMergeResult {
  applied: ModuleCatalogEntry[]
  /** malformed or badly signed entries (counted, never applied) */
  rejected: number
  /** entries for a name@version this catalog holds with another CID */
  conflicts: number
}

/** What the catalog needs of lib/auth's Auth service: a peer's publish is verified against its invocation. */
export interface ModuleCatalogGuard {
  check: (auth: string | undefined, expect: { can: 'module/publish', resource: string, value: unknown, author: string }) => Promise<unknown>
  recordAccepted: (detail: Record<string, unknown>) => Promise<void>
}

/**
 * The replicated module catalog: name@version -> signed entry, grow-only
 * (a published version is never withdrawn; its blocks may be collected).
 * Merging is commutative, associative and idempotent: where two publishes
 * of one name@version disagree, every node keeps the same one (`preferred`),
 * so replicas converge whatever order entries arrive in.
 */
export class ModuleCatalog extends TypedEventEmitter<ModuleCatalogEvents> implements VersionSource {
  private readonly datastore: Datastore
  private readonly entries = new Map<string, ModuleCatalogEntry>()
  rejected = 0
  conflicts = 0

  private readonly guard?: ModuleCatalogGuard
  private readonly self?: string
  unauthorized = 0

  constructor (init: { datastore: Datastore, guard?: ModuleCatalogGuard, self?: string }) {
    super()
    this.datastore = init.datastore
    if (init.guard != null) this.guard = init.guard
    if (init.self != null) this.self = init.self
  }

  async load (options: AbortOptions = {}): Promise<void> {
    for await (const { value } of this.datastore.query({ prefix: PREFIX }, options)) {
      try {
        const entry = await verifyEntry(JSON.parse(new TextDecoder().decode(value)))
        this.entries.set(`${entry.name}@${entry.version}`, entry)
      } catch {
        this.rejected++
      }
    }
  }

  all (): ModuleCatalogEntry[] {
    return [...this.entries.values()]
  }

  get size (): number {
    return this.entries.size
  }

  get (name: string, version: string): ModuleCatalogEntry | undefined {
    return this.entries.get(`${name}@${version}`)
  }

  /** For the resolver: every version of `name` the catalog holds. */
  versions (name: string): ModuleVersion[] {
    return this.all().filter(e => e.name === name).map(e => ({ name: e.name, version: e.version, cid: e.cid, dependencies: e.dependencies }))
  }

  /** The entry of a root CID, if the catalog names it. */
  byCid (cid: string): ModuleCatalogEntry | undefined {
    return this.all().find(e => e.cid === cid)
  }

  /** A local publish: refused when the catalog already names this version with other content. */
  async add (entry: ModuleCatalogEntry, options: AbortOptions = {}): Promise<void> {
    const held = this.get(entry.name, entry.version)
    if (held != null && held.cid !== entry.cid) {
      throw new ConflictError(`${entry.name}@${entry.version} is already published as ${held.cid} (by ${held.publisher}); publish a new version for new content`)
    }
    if (held != null) return
    await this.merge([entry], options)
  }

  /** Merge entries from a peer or a local write; each is verified first. */
  async merge (values: unknown[], options: AbortOptions = {}): Promise<CatalogMergeResult> {
    const result: CatalogMergeResult = { applied: [], rejected: 0, conflicts: 0 }
    for (const value of values) {
      let entry: ModuleCatalogEntry
      try {
        entry = await verifyEntry(value)
      } catch {
        result.rejected++
        continue
      }
      const key = `${entry.name}@${entry.version}`
      const held = this.entries.get(key)
      if (held != null) {
        if (held.cid === entry.cid) continue
        result.conflicts++
        if (preferred(held, entry) === held) continue
      }
      // this node's own publishes were authorised when made (Modules.publish)
      if (this.guard != null && entry.publisher !== this.self) {
        try {
          await this.guard.check(entry.auth, { can: 'module/publish', resource: `mod:${entry.name}`, value: publishedFields(entry), author: entry.publisher })
        } catch {
          result.rejected++
          this.unauthorized++
          continue
        }
        await this.guard.recordAccepted({ op: 'publish', module: `${entry.name}@${entry.version}`, cid: entry.cid, author: entry.publisher })
      }
      this.entries.set(key, entry)
      await this.datastore.put(new Key(`${PREFIX}/${key}`), new TextEncoder().encode(JSON.stringify(entry)), options)
      result.applied.push(entry)
      this.safeDispatchEvent('change', { detail: entry })
    }
    this.rejected += result.rejected
    this.conflicts += result.conflicts
    return result
  }
}
