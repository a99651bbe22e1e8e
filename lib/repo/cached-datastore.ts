import { BaseDatastore } from 'datastore-core'
import { NotFoundError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore, Key, Pair, Query, KeyQuery } from 'interface-datastore'

export interface CachedDatastoreInit {
  /**
   * Keys under these prefixes are written behind: a put updates the cache at
   * once and reaches the inner store at the next flush, so a key rewritten
   * many times between flushes costs one write. For data that may lose its
   * last `flushMs` in a crash and be no worse for it (libp2p's peer store,
   * which rewrites a peer's record, with a new timestamp, on every stream
   * opened to or from that peer).
   */
  writeBehind?: string[]
  /** how often written-behind keys are flushed (default 5 s) */
  flushMs?: number
}

const DEFAULT_FLUSH_MS = 5_000

/**
 * Read-through cache over the repo's level datastore, write-through except
 * for the `writeBehind` prefixes. libp2p's peer store reads a peer's record
 * on every incoming stream and identify message, and writes it on every
 * stream opened; with level underneath those were a native read and a native
 * write per stream, the largest costs of an idle daemon in a 20-node mesh
 * (profiled). Keys and records are small (peer records, DHT records), so
 * everything read or written stays cached; misses are remembered until the
 * key is written. Queries flush first, so they see every write. `close()`
 * flushes and must be called before the inner store closes.
 */
export class CachedDatastore extends BaseDatastore {
  private readonly inner: Datastore
  private readonly cache = new Map<string, Uint8Array>()
  private readonly missing = new Set<string>()
  private readonly dirty = new Map<string, { key: Key, value: Uint8Array }>()
  private readonly writeBehind: string[]
  private readonly flushMs: number
  private flushTimer?: NodeJS.Timeout
  private flushing?: Promise<void>

  constructor (inner: Datastore, init: CachedDatastoreInit = {}) {
    super()
    this.inner = inner
    this.writeBehind = init.writeBehind ?? []
    this.flushMs = init.flushMs ?? DEFAULT_FLUSH_MS
  }

  private deferred (k: string): boolean {
    return this.writeBehind.some(p => k.startsWith(p))
  }

  private remember (k: string, value: Uint8Array): void {
    this.cache.set(k, value)
    this.missing.delete(k)
  }

  private forget (k: string): void {
    this.cache.delete(k)
    this.missing.add(k)
    this.dirty.delete(k)
  }

  private defer (key: Key, k: string, value: Uint8Array): void {
    this.remember(k, value)
    this.dirty.set(k, { key, value })
    this.flushTimer ??= setTimeout(() => { void this.flush().catch(() => {}) }, this.flushMs)
    this.flushTimer.unref?.()
  }

  /** Write every deferred put to the inner store (one batch). */
  async flush (options?: AbortOptions): Promise<void> {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    await this.flushing
    if (this.dirty.size === 0) return
    const entries = [...this.dirty.values()]
    this.dirty.clear()
    const batch = this.inner.batch()
    for (const { key, value } of entries) batch.put(key, value)
    this.flushing = Promise.resolve(batch.commit(options)).catch((err: unknown) => {
      // put back what did not reach the store, unless rewritten meanwhile
      for (const e of entries) if (!this.dirty.has(e.key.toString()) && this.cache.get(e.key.toString()) === e.value) this.dirty.set(e.key.toString(), e)
      throw err
    }).finally(() => { this.flushing = undefined })
    await this.flushing
  }

  /** Flush and stop the flush timer. */
  async close (options?: AbortOptions): Promise<void> {
    await this.flush(options)
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const k = key.toString()
    if (this.deferred(k)) {
      this.defer(key, k, value)
      return key
    }
    await this.inner.put(key, value, options)
    this.remember(k, value)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const k = key.toString()
    const hit = this.cache.get(k)
    if (hit != null) return hit
    if (this.missing.has(k)) throw new NotFoundError(`no value for ${k}`)
    try {
      const value = await this.inner.get(key, options)
      this.cache.set(k, value)
      return value
    } catch (err: any) {
      if (err?.name === 'NotFoundError') this.missing.add(k)
      throw err
    }
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    const k = key.toString()
    if (this.cache.has(k)) return true
    if (this.missing.has(k)) return false
    return this.inner.has(key, options)
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const k = key.toString()
    this.dirty.delete(k)
    await this.inner.delete(key, options)
    this.forget(k)
  }

  override batch (): Batch {
    const inner = this.inner.batch()
    const puts: Array<[Key, Uint8Array]> = []
    const deletes: Key[] = []
    return {
      put: (key, value) => {
        puts.push([key, value])
        if (!this.deferred(key.toString())) inner.put(key, value)
      },
      delete: (key) => { inner.delete(key); deletes.push(key) },
      commit: async (options) => {
        for (const key of deletes) this.dirty.delete(key.toString())
        await inner.commit(options)
        for (const [key, value] of puts) {
          const k = key.toString()
          if (this.deferred(k)) this.defer(key, k, value)
          else this.remember(k, value)
        }
        for (const key of deletes) this.forget(key.toString())
      }
    }
  }

  override async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    await this.flush(options)
    yield * this.inner.query(q, options)
  }

  override async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    await this.flush(options)
    yield * this.inner.queryKeys(q, options)
  }
}
