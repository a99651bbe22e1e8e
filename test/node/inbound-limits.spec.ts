import { expect } from 'chai'
import { limited } from '../../lib/inbound-limits.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

describe('per-peer inbound stream limits', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  after(async () => { await stopAll(nodes) })

  it('resets a peer\'s streams beyond its rate on a protocol, and serves it again once the window has passed', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const protocol = a.getProtocols().find(p => p.endsWith('/catalog/sync/1.0.0'))!
    const before = limited.get(protocol) ?? 0
    // 100 sync streams one after another, as fast as they go: the sync limit is 20 a second per peer
    const request = new TextEncoder().encode(JSON.stringify({ digest: {} }))
    const started = Date.now()
    const outcomes: string[] = []
    for (let i = 0; i < 100; i++) {
      try {
        const stream = await b.dialProtocol(a.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
        const closed = new Promise<string>(resolve => { stream.addEventListener('close', (evt) => { resolve(evt.error != null ? 'reset' : 'closed') }, { once: true }) })
        stream.send(Uint8Array.of(request.length, ...request))
        await stream.close().catch(() => {})
        outcomes.push(await closed)
      } catch {
        outcomes.push('refused')
      }
    }
    const seconds = Math.ceil((Date.now() - started) / 1000)
    const refused = (limited.get(protocol) ?? 0) - before
    // at most 20 a second get through, whatever this host's speed
    expect(100 - refused, `${JSON.stringify(outcomes)} in ${seconds} s`).to.be.at.most(20 * (seconds + 1))
    expect(refused).to.be.at.least(1)
    expect(outcomes.filter(o => o === 'closed').length, JSON.stringify(outcomes)).to.be.at.least(15)
    // the other protocols, and this one after the window, still work
    expect(a.services.membership.members().find(m => m.peerId === b.peerId.toString())?.status).to.equal('alive')
    const pulls = b.services.registry.counters.pulls
    await waitFor(async () => { await b.services.registry.pull(a.peerId); return b.services.registry.counters.pulls > pulls }, { timeoutMs: 10_000, what: 'a pull to be served once the window passed' })
  })
})
