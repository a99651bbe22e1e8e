import { expect } from 'chai'
import { SYNC_PROTOCOL_SUFFIX } from '../../lib/membership/constants.js'
import { openSignedAdvert } from '../../lib/membership/relay.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { answers, frame } from '../utils/raw-frames.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../../lib/constants.js'

const PROTOCOL = `${DEFAULT_PROTOCOL_PREFIX}${SYNC_PROTOCOL_SUFFIX}`

describe('member-list pull', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  /** One raw pull of b's member list by a, sending `request`. */
  async function pull (a: NoodleNode, b: NoodleNode, request: unknown): Promise<any> {
    const stream = await a.dialProtocol(b.peerId, PROTOCOL)
    const got = answers(stream)
    stream.send(frame(request))
    await waitFor(() => got.length === 1, { what: 'the member list' })
    return got[0]
  }

  it('answers with its member list and its own signed advert', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const answer = await pull(a, b, {})
    expect(answer.members.map((m: any) => m.peerId)).to.have.members(nodes.map(n => n.peerId.toString()))
    const self = await openSignedAdvert(answer.self)
    expect(self.peerId).to.equal(b.peerId.toString())
    expect(self.status).to.equal('alive')
  })

  it('held failed by the asker, it refutes before answering: the answer carries its higher incarnation', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const before = await openSignedAdvert((await pull(a, b, {})).self)

    const after = await openSignedAdvert((await pull(a, b, { you: { status: 'failed', incarnation: before.incarnation } })).self)
    expect(after.incarnation).to.equal(before.incarnation + 1)
    // a claim about an incarnation it has already outgrown changes nothing
    const again = await openSignedAdvert((await pull(a, b, { you: { status: 'suspect', incarnation: before.incarnation } })).self)
    expect(again.incarnation).to.equal(after.incarnation)
    // and the mesh takes the refutation like any advert
    await waitFor(() => a.services.membership.member(b.peerId.toString()).incarnation === after.incarnation, { what: 'a to hold the new incarnation' })
  })

  it('a malformed request is counted and answered by nothing; the next pull is answered', async () => {
    nodes = await startMesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const before = b.services.membership.stats().rejected.malformed ?? 0
    const bad = await a.dialProtocol(b.peerId, PROTOCOL)
    const got = answers(bad)
    bad.send(frame({ you: { status: 'alive', incarnation: 0 } }))
    await waitFor(() => bad.status !== 'open', { what: 'the malformed stream to be closed' })
    expect(got).to.have.length(0)
    expect(b.services.membership.stats().rejected.malformed ?? 0).to.equal(before + 1)
    expect((await pull(a, b, {})).members.length).to.be.greaterThan(0)
  })
})
