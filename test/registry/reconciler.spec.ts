import { expect } from 'chai'
import { place, type PlacementMember } from '../../lib/placement/place.js'
import { parseServiceSpec } from '../../lib/placement/spec.js'
import { Reconciler, type Replica } from '../../lib/registry/index.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

async function members (n: number): Promise<PlacementMember[]> {
  return Promise.all(Array.from({ length: n }, async () => ({
    peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(),
    status: 'alive' as const,
    statusForMs: Number.MAX_SAFE_INTEGER,
    resources: { cpus: 4, memTotal: 8 * 2 ** 30, slotsTotal: 4 },
    labels: {}
  })))
}

describe('reconciler', () => {
  it('starts what this node owns, stops what it no longer owns, passes spec changes on', async () => {
    const view = await members(6)
    const specs = Array.from({ length: 30 }, (_, i) => parseServiceSpec({ name: `svc-${i}`, replicas: 2 }))
    const self = view[0]!.peerId
    const r = new Reconciler(self)
    const seen: Array<[string, string]> = []
    for (const type of ['replica:start', 'replica:stop', 'replica:update'] as const) {
      r.addEventListener(type, (evt: CustomEvent<Replica>) => { seen.push([type, evt.detail.service]) })
    }
    const before = place(specs, view)
    const owned = specs.filter(s => before.services.get(s.name)!.owners.includes(self)).map(s => s.name)
    expect(owned.length).to.be.greaterThan(0)
    const first = r.reconcile(before, specs)
    expect(first.started.sort()).to.deep.equal([...owned].sort())
    expect(r.replicas().map(i => i.service)).to.deep.equal([...owned].sort())
    // the same placement again changes nothing
    expect(r.reconcile(before, specs)).to.deep.equal({ started: [], updated: [], stopped: [] })

    // this node drains: every replica it held stops here
    const drained = place(specs, view.map(m => m.peerId === self ? { ...m, draining: true } : m))
    const second = r.reconcile(drained, specs)
    expect(second.stopped.sort()).to.deep.equal([...owned].sort())
    expect(r.replicas()).to.deep.equal([])

    // back, and one owned service gets a new spec
    r.reconcile(before, specs)
    const changed = specs.map(s => s.name === owned[0] ? { ...s, module: 'echo@^2.0.0' } : s)
    const third = r.reconcile(place(changed, view), changed)
    expect(third.updated).to.deep.equal([owned[0]])
    expect(r.replicas().find(i => i.service === owned[0])!.spec.module).to.equal('echo@^2.0.0')
    expect(seen.filter(([t]) => t === 'replica:start')).to.have.length(owned.length * 2)
    expect(seen.filter(([t]) => t === 'replica:stop')).to.have.length(owned.length)

    // a removed service stops
    const fewer = changed.filter(s => s.name !== owned[0])
    expect(r.reconcile(place(fewer, view), fewer).stopped).to.include(owned[0])
    r.clear()
    expect(r.replicas()).to.deep.equal([])
  })
})
