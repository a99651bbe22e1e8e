import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core/memory'
import { expect } from 'chai'
import { ModuleCatalog } from '../../lib/modules/catalog.js'
import { signEntry, verifyEntry, type ModuleCatalogEntry } from '../../lib/modules/catalog-entry.js'
import { resolveModules } from '../../lib/modules/resolver.js'
import { rejection } from '../utils/rejection.js'

const CID_A = 'bafyreihsgj42of3nwvxibhvmtkewwy2ejvq57bekthyzkec5j2v2mrouum'
const CID_B = 'bafkreib5ui22flioloemwcfustvayxb6hanr7werwl365z5nidbsnc633e'

async function publisher (): Promise<{ id: string, sign: (f: Partial<ModuleCatalogEntry>) => Promise<ModuleCatalogEntry> }> {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  return {
    id,
    sign: async (f) => signEntry({ name: 'echo', version: '1.0.0', cid: CID_A, dependencies: {}, publisher: id, publishedAt: 1000, ...f }, key)
  }
}

describe('module catalog', () => {
  it('takes signed entries and refuses forged, altered or malformed ones', async () => {
    const alice = await publisher()
    const mallory = await publisher()
    const catalog = new ModuleCatalog({ datastore: new MemoryDatastore() })
    const good = await alice.sign({})
    const altered = { ...good, cid: CID_B }
    const forged = { ...(await mallory.sign({ name: 'other' })), publisher: alice.id }
    const result = await catalog.merge([good, altered, forged, { name: 'x' }, 'garbage', null])
    expect(result.applied).to.deep.equal([good])
    expect(result.rejected).to.equal(5)
    expect((await rejection(verifyEntry(altered))).message).to.include('not signed by its publisher')
    expect((await rejection(verifyEntry({ ...good, version: 'v1' }))).name).to.equal('BlockVerificationError')
  })

  it('converges on the same entry when two publishes of one version disagree, whatever the order', async () => {
    const alice = await publisher()
    const bob = await publisher()
    const early = await alice.sign({ publishedAt: 1000, cid: CID_B })
    const late = await bob.sign({ publishedAt: 2000, cid: CID_A })
    const one = new ModuleCatalog({ datastore: new MemoryDatastore() })
    const two = new ModuleCatalog({ datastore: new MemoryDatastore() })
    await one.merge([early, late])
    await two.merge([late])
    await two.merge([early])
    expect(one.get('echo', '1.0.0')).to.deep.equal(early)
    expect(two.get('echo', '1.0.0')).to.deep.equal(early)
    expect(two.conflicts).to.equal(1)
    // a local publish of other content under a version the catalog holds is refused
    const err = await rejection(one.add(await alice.sign({ publishedAt: 3000, cid: CID_A })))
    expect(err.name).to.equal('ConflictError')
    expect(err.message).to.include(CID_B)
  })

  it('persists entries, and feeds the resolver', async () => {
    const alice = await publisher()
    const datastore = new MemoryDatastore()
    const catalog = new ModuleCatalog({ datastore })
    await catalog.add(await alice.sign({ name: 'text-utils', version: '1.2.0', cid: CID_B }))
    await catalog.add(await alice.sign({ name: 'shout', version: '1.0.0', dependencies: { 'text-utils': '^1.2.0' } }))
    const reloaded = new ModuleCatalog({ datastore })
    await reloaded.load()
    expect(reloaded.size).to.equal(2)
    expect(resolveModules('shout@^1', reloaded).lock).to.deep.equal({ 'shout@1.0.0': CID_A, 'text-utils@1.2.0': CID_B })
  })
})
