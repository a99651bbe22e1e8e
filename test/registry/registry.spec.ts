import { expect } from 'chai'
import { DRAIN_LABEL } from '../../lib/interface/api.js'
import { encodeJson } from '../../lib/membership/wire.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { ServiceNotFoundError } from '../../lib/registry/index.js'
import { localNode, startMesh, stopAll, converged } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

describe('service registry (in-process meshes)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('replicates a deploy to every node, and every node computes the same owners', async () => {
    nodes = await startMesh(5)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const result = await nodes[1]!.services.registry.deploy({ name: 'web', replicas: 2 })
    expect(result.owners).to.have.length(2)
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('web')), { what: 'the spec on every node' })
    const owners = nodes.map(n => n.services.registry.status('web').owners)
    expect(new Set(owners.map(o => JSON.stringify(o))).size).to.equal(1)
    expect(owners[0]).to.deep.equal(result.owners)
    expect(nodes[3]!.services.registry.status('web').instances.every(i => i.healthy)).to.equal(true)
  })

  it('a drained owner loses its replicas on every node, and gets them back when undrained', async () => {
    nodes = await startMesh(4)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const { owners } = await nodes[0]!.services.registry.deploy({ name: 'web', replicas: 2 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('web')), { what: 'the spec everywhere' })
    const owner = nodes.find(n => n.peerId.toString() === owners[0])!
    await owner.services.membership.setLabel(DRAIN_LABEL, 'true')
    await waitFor(() => nodes.every(n => { const o = n.services.registry.status('web').owners; return o.length === 2 && !o.includes(owners[0]!) }),
      { what: 'every node to move web off the drained member' })
    const why = nodes[2]!.services.registry.explain('web').members.find(m => m.peerId === owners[0])!
    expect(why.reason).to.equal('draining')
    await owner.services.membership.removeLabel(DRAIN_LABEL)
    await waitFor(() => nodes.every(n => JSON.stringify(n.services.registry.status('web').owners) === JSON.stringify(owners)),
      { what: 'the original owners back everywhere' })
  })

  it('a dry run changes nothing and says which owners and moves it would cause', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const dry = await nodes[0]!.services.registry.deploy({ name: 'api', replicas: 2 }, { dryRun: true })
    expect(dry.dryRun).to.equal(true)
    expect(dry.owners).to.have.length(2)
    expect(nodes[0]!.services.registry.catalog.has('api')).to.equal(false)
  })

  it('a delete reaches every node and the tombstone keeps it deleted', async () => {
    nodes = await startMesh(4)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    await nodes[0]!.services.registry.deploy({ name: 'db', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('db')), { what: 'the spec everywhere' })
    await nodes[2]!.services.registry.remove('db')
    await waitFor(() => nodes.every(n => !n.services.registry.catalog.has('db')), { what: 'the delete everywhere' })
    // an anti-entropy round with anyone does not bring it back
    for (const n of nodes) await n.services.registry.pull(nodes[(nodes.indexOf(n) + 1) % nodes.length]!.peerId)
    expect(nodes.some(n => n.services.registry.catalog.has('db'))).to.equal(false)
    expect(() => nodes[1]!.services.registry.status('db')).to.throw(ServiceNotFoundError)
  })

  it('a node that joins later catches up from a neighbour', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    await nodes[0]!.services.registry.deploy({ name: 'web', replicas: 2 })
    await nodes[0]!.services.registry.deploy({ name: 'api', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.list().length === 2), { what: 'both specs everywhere' })
    const late = await localNode({ bootstrap: [nodes[0]!.getMultiaddrs()[0]!.toString()] })
    nodes.push(late)
    await waitFor(() => late.services.registry.catalog.list().map(s => s.name).join() === 'api,web', { what: 'the newcomer to hold the catalog' })
  })

  it('refuses gossip that forges another author or is malformed, and carries on', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const topic = a.services.registry.topic
    await waitFor(() => a.services.pubsub.getSubscribers(topic).length > 0, { what: 'topic peers' })
    const forged = { name: 'evil', version: 99, author: b.peerId.toString(), updatedAt: 1, deleted: false, spec: { name: 'evil', replicas: 1, requirements: { cpu: 0, memoryMb: 0, slots: 0, labels: {} } } }
    await a.services.pubsub.publish(topic, encodeJson({ v: 1, entries: [forged] }))
    await a.services.pubsub.publish(topic, new TextEncoder().encode('{"v":1,"entries":[{"name":1}]}'))
    await waitFor(() => b.services.registry.counters.gossipRejected >= 2, { what: 'both to be rejected' })
    expect(b.services.registry.catalog.has('evil')).to.equal(false)
    await a.services.registry.deploy({ name: 'fine', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('fine')), { what: 'a good deploy to still spread' })
  })
})
