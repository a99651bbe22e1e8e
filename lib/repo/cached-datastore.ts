import { BaseDatastore } from 'datastore-core'
import { NotFoundError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore, Key, Pair, Query, KeyQuery } from 'interface-datastore'

/**
 * Read-through, write-through cache over the repo's level datastore. libp2p's
 * peer store reads a peer's record on every incoming stream and identify
 * message; with level underneath that was a native read per stream and the
 * largest single cost of an idle daemon in a 20-node mesh (profiled). Keys
 * and records are small (peer records, DHT records), so everything read or
 * written stays cached; misses are remembered until the key is written.
 */
export class CachedDatastore extends BaseDatastore {
  private readonly inner: Datastore
  private readonly cache = new Map<string, Uint8Array>()
  private readonly missing = new Set<string>()

  constructor (inner: Datastore) {
    super()
    this.inner = inner
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    await this.inner.put(key, value, options)
    const k = key.toString()
    this.cache.set(k, value)
    this.missing.delete(k)
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
    await this.inner.delete(key, options)
    const k = key.toString()
    this.cache.delete(k)
    this.missing.add(k)
  }

  override batch (): Batch {
    const inner = this.inner.batch()
    const puts: Array<[string, Uint8Array]> = []
    const deletes: string[] = []
    return {
      put: (key, value) => { inner.put(key, value); puts.push([key.toString(), value]) },
      delete: (key) => { inner.delete(key); deletes.push(key.toString()) },
      commit: async (options) => {
        await inner.commit(options)
        for (const [k, v] of puts) { this.cache.set(k, v); this.missing.delete(k) }
        for (const k of deletes) { this.cache.delete(k); this.missing.add(k) }
      }
    }
  }

  override async * query (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield * this.inner.query(q, options)
  }

  override async * queryKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield * this.inner.queryKeys(q, options)
  }
}
