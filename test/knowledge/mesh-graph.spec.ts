import { defaultLogger } from '@libp2p/logger'
import { expect } from 'chai'
import type { MemberView, ModuleListView } from '../../lib/interface/api.js'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import { meshTriples, type MeshSnapshot } from '../../lib/knowledge/mesh-graph.js'
import { rejection } from '../utils/rejection.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const log = defaultLogger().forComponent('test:mesh-graph')
const resources = { cpus: 2, load1: 0, load5: 0, load15: 0, memTotal: 8e9, memFree: 4e9, loopLagMs: 1.5, slotsTotal: 4, slotsUsed: 1, diskFree: 1e10 }
const member = (peerId: string, labels: Record<string, string>, status: MemberView['status'] = 'alive'): MemberView =>
  ({ peerId, self: false, status, incarnation: 1, lastSeenMs: 0, statusForMs: 0, addrs: [`/ip4/10.0.0.1/tcp/4010/p2p/${peerId}`], resources, labels, services: [], version: '0.1.0' }) as unknown as MemberView
const mod = (name: string, cid: string, publisher: string): ModuleListView => ({ name, version: '1.0.0', cid, publisher, publishedAt: '', dependencies: {}, stored: true, pinned: false })

/** Which services run modules published by `publisher` on members labelled zone=a: the question the vocabulary is for. */
const QUESTION = `PREFIX n: <urn:noodle:vocab:> PREFIX schema: <https://schema.org/>
SELECT DISTINCT ?service WHERE {
  ?svc a n:Service ; schema:name ?service ; n:moduleName ?m ; n:runsOn ?member .
  ?member n:label "zone=a" .
  ?mod a n:ModuleVersion ; schema:name ?m ; schema:publisher <urn:noodle:member:P> .
} ORDER BY ?service`

describe('the mesh describes itself (a derived graph)', function () {
  this.timeout(30_000)

  it('answers which services run modules published by X on members labelled zone=a, and follows the mesh as it changes', async () => {
    const mesh: MeshSnapshot = {
      self: 'A',
      members: [member('A', { zone: 'a' }), member('B', { zone: 'b' }), member('P', {})],
      services: [
        { name: 'web', replicas: 1, spec: { name: 'web', replicas: 1, requirements: { cpu: 0, memoryMb: 0, slots: 1, labels: {} }, module: 'site@^1' }, owners: ['A'], instances: [{ peerId: 'A', kind: 'replica', healthy: true }] },
        { name: 'api', replicas: 1, spec: { name: 'api', replicas: 1, requirements: { cpu: 0, memoryMb: 0, slots: 1, labels: {} }, module: 'site@^1' }, owners: ['B'], instances: [{ peerId: 'B', kind: 'replica', healthy: true }] },
        { name: 'other', replicas: 1, spec: { name: 'other', replicas: 1, requirements: { cpu: 0, memoryMb: 0, slots: 1, labels: {} }, module: 'mine@^1' }, owners: ['A'], instances: [{ peerId: 'A', kind: 'replica', healthy: true }] }
      ],
      modules: [mod('site', 'bafysite', 'P'), mod('mine', 'bafymine', 'Q')],
      graphs: []
    }
    const text = meshTriples(mesh)
    expect(text).to.include('<urn:noodle:member:A> <urn:noodle:vocab:label> "zone=a" .')
    const dir = await tmpDir()
    const store = new GraphStore({ path: `${dir.path}/kg`, owner: 'A', log, meshGraph: async () => meshTriples(mesh) })
    try {
      await store.start()
      const rows = async (): Promise<string[]> => {
        const r = await store.query(QUESTION)
        return r.kind === 'bindings' ? r.bindings.map(b => b.service!.value) : []
      }
      expect(await rows()).to.deep.equal(['web'])
      // api moves to a member in zone a: the graph follows within its refresh
      mesh.members[1] = member('B', { zone: 'a' })
      await waitFor(async () => (await rows()).includes('api'), { timeoutMs: 5_000, what: 'the mesh graph to follow the relabelled member' })
      expect(await rows()).to.deep.equal(['api', 'web'])
      // a member's failure shows as its status
      mesh.members[2] = member('P', {}, 'failed')
      await waitFor(async () => {
        const r = await store.query('ASK { <urn:noodle:member:P> <urn:noodle:vocab:status> "failed" }')
        return r.kind === 'boolean' && r.boolean
      }, { timeoutMs: 5_000, what: 'the failure in the mesh graph' })
      // the derived graph is the daemon's to write
      expect((await rejection(store.add('mesh', '<a:a> <a:b> <a:c> .', { format: 'ntriples' }))).message).to.include('graph of the mesh itself')
      expect(store.list().map(g => g.name)).to.not.include('mesh')
    } finally {
      await store.stop()
      await dir.cleanup()
    }
  })
})
