import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { parseServiceSpec } from '../../lib/placement/index.js'
import { ServiceCatalog, ServiceNotFoundError, type CatalogEntry } from '../../lib/registry/index.js'
import { seededRandom } from '../../simulations/harness/rng.js'
import { shuffled } from '../placement/fixtures.js'

const web = parseServiceSpec({ name: 'web', replicas: 2 })
const api = parseServiceSpec({ name: 'api', replicas: 3 })

async function catalog (self: string, datastore = new MemoryDatastore()): Promise<ServiceCatalog> {
  const c = new ServiceCatalog({ datastore, self })
  await c.load()
  return c
}

describe('service catalog', () => {
  it('declares, replaces and lists services', async () => {
    const c = await catalog('peer-a')
    await c.put(web)
    await c.put(api)
    await c.put({ ...web, replicas: 4 })
    expect(c.list().map(s => [s.name, s.replicas])).to.deep.equal([['api', 3], ['web', 4]])
    expect(c.get('web').replicas).to.equal(4)
    expect(() => c.get('nope')).to.throw(ServiceNotFoundError)
  })

  it('leaves a tombstone on delete, so an older replica cannot bring the service back', async () => {
    const a = await catalog('peer-a')
    const b = await catalog('peer-b')
    await a.put(web)
    await b.merge(a.all())
    const stale = b.all()
    await a.remove('web')
    expect(a.has('web')).to.equal(false)
    expect(a.all().find(e => e.name === 'web')?.deleted).to.equal(true)
    // b still holds the live copy and sends it back: the tombstone wins
    const { applied } = await a.merge(stale)
    expect(applied).to.have.length(0)
    expect(a.has('web')).to.equal(false)
    await b.merge(a.all())
    expect(b.has('web')).to.equal(false)
    await expect(a.remove('web')).to.be.rejectedWith(ServiceNotFoundError)
  })

  it('converges to the same entries whatever order and how often writes arrive (10 seeds)', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = seededRandom(seed)
      // three writers, each writing and deleting on its own, having seen some of the others
      const writers = await Promise.all(['peer-a', 'peer-b', 'peer-c'].map(async p => catalog(p)))
      const log: CatalogEntry[] = []
      for (let i = 0; i < 30; i++) {
        const w = writers[Math.floor(random() * writers.length)]!
        const name = ['web', 'api', 'db'][Math.floor(random() * 3)]!
        if (random() < 0.25 && w.has(name)) log.push(await w.remove(name))
        else log.push(await w.put(parseServiceSpec({ name, replicas: 1 + Math.floor(random() * 5) })))
        if (random() < 0.5) {
          const other = writers[Math.floor(random() * writers.length)]!
          await other.merge(w.all())
        }
      }
      const replicas = await Promise.all(Array.from({ length: 4 }, async (_, i) => catalog(`replica-${i}`)))
      for (const r of replicas) {
        const order = shuffled([...log, ...log.slice(0, 10)], random)
        await r.merge(order)
      }
      const views = replicas.map(r => JSON.stringify(r.all().sort((x, y) => x.name.localeCompare(y.name))))
      expect(new Set(views).size, `seed ${seed}`).to.equal(1)
    }
  })

  it('a local write outranks every entry it has seen (Lamport clock)', async () => {
    const a = await catalog('peer-a')
    const b = await catalog('peer-b')
    for (let i = 0; i < 5; i++) await b.put({ ...web, replicas: i + 1 })
    await a.merge(b.all())
    const mine = await a.put({ ...web, replicas: 9 })
    await b.merge(a.all())
    expect(b.get('web').replicas).to.equal(9)
    expect(mine.version).to.be.greaterThan(5)
  })

  it('survives a restart from its datastore', async () => {
    const datastore = new MemoryDatastore()
    const a = await catalog('peer-a', datastore)
    await a.put(web)
    await a.put(api)
    await a.remove('api')
    const again = await catalog('peer-a', datastore)
    expect(again.list().map(s => s.name)).to.deep.equal(['web'])
    expect(again.all().find(e => e.name === 'api')?.deleted).to.equal(true)
    // its clock continues past what it wrote before
    expect((await again.put(api)).version).to.be.greaterThan(3)
  })

  it('refuses malformed entries from peers and from disk, counts them, and keeps the rest', async () => {
    const datastore = new MemoryDatastore()
    await datastore.put(new Key('/noodle/catalog/services/bad'), new TextEncoder().encode('{not json'))
    await datastore.put(new Key('/noodle/catalog/services/huge'), new Uint8Array(64 * 1024))
    const a = await catalog('peer-a', datastore)
    expect(a.rejected).to.equal(2)
    const good = { name: 'web', version: 1, author: 'peer-b', updatedAt: 1, deleted: false, spec: web }
    const result = await a.merge([
      { ...good, spec: undefined },
      { ...good, name: 'other' },
      { ...good, version: -1 },
      { ...good, deleted: true },
      'nonsense',
      null,
      good
    ])
    expect(result.rejected).to.equal(6)
    expect(result.applied.map(e => e.name)).to.deep.equal(['web'])
    expect(a.get('web').replicas).to.equal(2)
  })

  it('forgets tombstones after their time to live', async () => {
    const a = new ServiceCatalog({ datastore: new MemoryDatastore(), self: 'peer-a', tombstoneTtlMs: 1000 })
    await a.put(web)
    const t = await a.remove('web')
    expect(await a.collect(t.updatedAt + 999)).to.deep.equal([])
    expect(await a.collect(t.updatedAt + 1000)).to.deep.equal(['web'])
    expect(a.all()).to.deep.equal([])
  })
})
