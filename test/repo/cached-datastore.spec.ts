import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import all from 'it-all'
import { CachedDatastore } from '../../lib/repo/cached-datastore.js'
import { waitFor } from '../utils/wait-for.js'

/** A memory store that counts writes and can be made to fail them. */
class CountingStore extends MemoryDatastore {
  puts = 0
  fail = false

  override put (key: Key, value: Uint8Array): Key {
    if (this.fail) throw new Error('disk full')
    this.puts++
    return super.put(key, value) as Key
  }

  override batch (): ReturnType<MemoryDatastore['batch']> {
    const ops: Array<() => void> = []
    return {
      put: (key, value) => { ops.push(() => { this.put(key, value) }) },
      delete: (key) => { ops.push(() => { this.delete(key) }) },
      commit: async () => {
        if (this.fail) throw new Error('disk full')
        for (const op of ops) op()
      }
    }
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('cached datastore', () => {
  let inner: CountingStore
  let store: CachedDatastore
  const peer = new Key('/peers/abc')
  const dht = new Key('/dht/record/x')

  beforeEach(() => {
    inner = new CountingStore()
    store = new CachedDatastore(inner, { writeBehind: ['/peers/'], flushMs: 60_000 })
  })
  afterEach(async () => { await store.close() })

  it('writes other keys through at once', async () => {
    await store.put(dht, bytes('v1'))
    expect(text(await inner.get(dht))).to.equal('v1')
    expect(text(await store.get(dht))).to.equal('v1')
  })

  it('coalesces rewrites of a written-behind key into one write at flush', async () => {
    for (let i = 0; i < 50; i++) await store.put(peer, bytes(`v${i}`))
    expect(text(await store.get(peer))).to.equal('v49')
    expect(await store.has(peer)).to.equal(true)
    expect(inner.has(peer)).to.equal(false)
    await store.flush()
    expect(text(await inner.get(peer))).to.equal('v49')
    expect(inner.puts).to.equal(1)
  })

  it('flushes on its own after flushMs', async () => {
    store = new CachedDatastore(inner, { writeBehind: ['/peers/'], flushMs: 20 })
    await store.put(peer, bytes('soon'))
    await waitFor(() => inner.has(peer), { what: 'timed flush' })
  })

  it('queries see written-behind values', async () => {
    await store.put(peer, bytes('p'))
    await store.put(new Key('/peers/def'), bytes('q'))
    const found = await all(store.query({ prefix: '/peers/' }))
    expect(found.map(p => text(p.value)).sort()).to.deep.equal(['p', 'q'])
    expect((await all(store.queryKeys({ prefix: '/peers/' }))).length).to.equal(2)
  })

  it('a delete is not undone by a later flush', async () => {
    await store.put(peer, bytes('gone'))
    await store.delete(peer)
    await store.flush()
    expect(inner.has(peer)).to.equal(false)
    await expect(store.get(peer)).to.be.rejectedWith(/no value/)
  })

  it('keeps the writes of a failed flush and writes them at the next', async () => {
    await store.put(peer, bytes('kept'))
    inner.fail = true
    await expect(store.flush()).to.be.rejectedWith('disk full')
    inner.fail = false
    await store.close()
    expect(text(await inner.get(peer))).to.equal('kept')
  })

  it('batches defer written-behind keys and write the rest', async () => {
    const b = store.batch()
    b.put(peer, bytes('b1'))
    b.put(dht, bytes('b2'))
    await b.commit()
    expect(inner.has(peer)).to.equal(false)
    expect(text(await inner.get(dht))).to.equal('b2')
    expect(text(await store.get(peer))).to.equal('b1')
    await store.close()
    expect(text(await inner.get(peer))).to.equal('b1')
  })
})
