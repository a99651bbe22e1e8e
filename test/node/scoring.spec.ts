import { expect } from 'chai'
import type { NoodleNode } from '../../lib/node/index.js'
import { meshTopics } from '../../lib/node/scoring.js'
import { converged, localNode, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

/** what the gossipsub class has beyond its exported interface */
type Scored = { getScore: (peer: string) => number, getMeshPeers: (topic: string) => string[] }
const gs = (n: NoodleNode): Scored => n.services.pubsub as unknown as Scored

describe('gossipsub peer scoring (lan profile)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => { await stopAll(nodes); nodes = [] })

  it('a peer that sends messages our validators reject loses score on lan and is graylisted; local does not score', async () => {
    // lan on loopback: connection limits are per host, which two nodes do not reach
    const a = await localNode({ profile: 'lan' })
    const b = await localNode({ profile: 'lan', bootstrap: [a.getMultiaddrs()[0]!.toString()] })
    nodes = [a, b]
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const topic = meshTopics('/noodle')[0]!
    expect(a.services.pubsub.getTopics()).to.include(topic)
    await waitFor(() => gs(b).getMeshPeers(topic).includes(a.peerId.toString()), { what: 'b in a\'s membership mesh' })
    // b stops checking its own messages and sends garbage
    b.services.pubsub.topicValidators.delete(topic)
    for (let i = 0; i < 5; i++) await b.services.pubsub.publish(topic, new TextEncoder().encode(`not an advert ${i}`)).catch(() => {})
    await waitFor(() => gs(a).getScore(b.peerId.toString()) <= -80, { timeoutMs: 20_000, what: 'b graylisted by a' })
  })

  it('the local profile leaves scores alone', async () => {
    const a = await localNode()
    const b = await localNode({ bootstrap: [a.getMultiaddrs()[0]!.toString()] })
    nodes = [a, b]
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const topic = meshTopics('/noodle')[0]!
    await waitFor(() => gs(b).getMeshPeers(topic).includes(a.peerId.toString()), { what: 'b in a\'s membership mesh' })
    b.services.pubsub.topicValidators.delete(topic)
    for (let i = 0; i < 5; i++) await b.services.pubsub.publish(topic, new TextEncoder().encode(`not an advert ${i}`)).catch(() => {})
    // the garbage reached a and was rejected there, and still costs b nothing
    await waitFor(() => Object.values(a.services.membership.stats().rejected).reduce((x, y) => x + y, 0) >= 5, { what: 'a to reject the garbage' })
    expect(gs(a).getScore(b.peerId.toString())).to.be.at.least(0)
  })
})
