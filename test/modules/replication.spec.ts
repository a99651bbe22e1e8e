import { expect } from 'chai'
import type { NoodleNode } from '../../lib/node/index.js'
import { encodeJson } from '../../lib/membership/wire.js'
import { localNode, startMesh, stopAll, converged } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { ECHO_WASM } from './fixtures.js'

const echo = (version: string, description = 'echo'): Record<string, unknown> => ({ name: 'echo', version, description, entry: 'echo.wasm', exports: ['echo'] })

describe('module catalog replication (in-process meshes)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('a publish reaches every node and puts a provider record on the DHT, a late joiner pulls the catalog, and a forged entry is rejected and counted', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
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
    const late = await localNode({ bootstrap: [a.getMultiaddrs()[0]!.toString()] })
    nodes.push(late)
    await waitFor(() => late.services.modules.catalog.get('echo', '1.0.0')?.cid === published.cid, { what: 'the late joiner to pull the catalog' })
    expect(late.services.modules.resolve('echo@^1').lock).to.deep.equal({ 'echo@1.0.0': published.cid })
  })
})
