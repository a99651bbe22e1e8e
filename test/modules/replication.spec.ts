import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { signEntry, type ModuleCatalogEntry } from '../../lib/modules/catalog-entry.js'
import { rawBlock } from '../../lib/modules/content.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { encodeJson } from '../../lib/json-codec.js'
import { localNode, stopAll, TestMesh } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { ECHO_WASM, bytes } from './fixtures.js'

const echo = (version: string, description = 'echo'): Record<string, unknown> => ({ name: 'echo', version, description, entry: 'echo.wasm', exports: ['echo'] })

describe('module catalog replication (in-process meshes)', function () {
  this.timeout(60_000)
  let mesh: TestMesh | undefined
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await mesh?.stop()
    mesh = undefined
    await stopAll(nodes)
    nodes = []
  })

  it('a publish reaches every node and puts a provider record on the DHT, a late joiner pulls the catalog, and a forged entry is rejected and counted', async () => {
    mesh = await TestMesh.start(3)
    await waitFor(() => mesh!.converged(), { what: 'membership convergence' })
    const [a, b, c] = mesh.nodes as [NoodleNode, NoodleNode, NoodleNode]
    const published = await a.services.modules.publish(echo('1.0.0'), ECHO_WASM)
    await waitFor(() => [b, c].every(n => n.services.modules.catalog.get('echo', '1.0.0')?.cid === published.cid), { what: 'b and c to hear of echo@1.0.0' })
    // a announced itself on the DHT as a provider of the module's root
    await waitFor(async () => (await c.services.modules.providers(published.cid, { signal: AbortSignal.timeout(5_000) })).includes(a.peerId.toString()), { what: 'c to find a as a provider of echo@1.0.0' })
    expect(await a.services.modules.providers('echo@1.0.0')).to.not.include(a.peerId.toString())

    // the same version with other content, published elsewhere, is refused there too
    const conflict = await b.services.modules.publish(echo('1.0.0', 'changed'), ECHO_WASM).then(() => undefined, (err: Error) => err)
    expect(conflict?.name).to.equal('ConflictError')

    // a forged entry (a's signature over other fields) on the topic: every receiver rejects it
    const entry = a.services.modules.catalog.get('echo', '1.0.0')!
    const before = b.services.modules.replication.counters.gossipRejected + a.services.modules.replication.counters.gossipRejected
    await c.services.pubsub.publish('noodle/modules/1', encodeJson({ v: 1, entries: [{ ...entry, version: '9.9.9' }] }))
    await waitFor(() => b.services.modules.replication.counters.gossipRejected + a.services.modules.replication.counters.gossipRejected > before, { what: 'the forged entry to be rejected' })
    expect(b.services.modules.catalog.get('echo', '9.9.9')).to.equal(undefined)

    // a node that was not there for the publish catches up when it connects
    const late = await mesh.join()
    await waitFor(() => late.services.modules.catalog.get('echo', '1.0.0')?.cid === published.cid, { what: 'the late joiner to pull the catalog' })
    expect(late.services.modules.resolve('echo@^1').lock).to.deep.equal({ 'echo@1.0.0': published.cid })
  })

  it('a catalog of 1,000 module versions reaches every node and resolves to the same lockfile on each', async () => {
    // 200 names x 5 versions; m<i> depends on m<i+1>@^1, so m000@^1 pulls in a chain of 200
    const key = await generateKeyPair('Ed25519')
    const publisher = peerIdFromPrivateKey(key).toString()
    const entries: ModuleCatalogEntry[] = []
    for (let i = 0; i < 200; i++) {
      const name = `m${String(i).padStart(3, '0')}`
      for (const version of ['0.9.0', '1.0.0', '1.1.0', '1.2.3', '2.0.0']) {
        const cid = (await rawBlock(bytes(64, i * 5 + entries.length))).cid.toString()
        const dependencies = i < 199 ? { [`m${String(i + 1).padStart(3, '0')}`]: '^1.0.0' } : {}
        entries.push(await signEntry({ name, version, cid, dependencies, publisher, publishedAt: 1_700_000_000_000 + entries.length }, key))
      }
    }
    const first = await localNode()
    nodes.push(first)
    expect((await first.services.modules.catalog.merge(entries)).applied).to.have.length(1_000)
    // the others join afterwards: they pull the whole catalog from whoever they connect to
    const boot = [first.getMultiaddrs()[0]!.toString()]
    nodes.push(...await Promise.all([localNode({ bootstrap: boot }), localNode({ bootstrap: boot })]))
    await waitFor(() => nodes.every(n => n.services.modules.catalog.all().length === 1_000), { timeoutMs: 60_000, what: 'every node to hold 1,000 catalog entries' })
    const locks = nodes.map(n => n.services.modules.resolve('m000@^1'))
    expect(Object.keys(locks[0]!.lock)).to.have.length(200)
    expect(locks[0]!.lock['m000@1.2.3']).to.equal(entries.find(e => e.name === 'm000' && e.version === '1.2.3')!.cid)
    expect(locks[0]!.order.at(-1)).to.equal('m000@1.2.3')
    for (const l of locks) expect(l).to.deep.equal(locks[0])
  })
})
