import { expect } from 'chai'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fromString, toString } from 'uint8arrays'
import { ForgedAdvertError, MalformedMessageError } from '../../lib/interface/errors.js'
import { openSignedAdvert, OversizedAdvertError, signAdvert } from '../../lib/membership/relay.js'
import { encodeMessage, type Advert } from '../../lib/membership/wire.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, localNode, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

const resources = { cpus: 2, load1: 0, load5: 0, load15: 0, memTotal: 1, memFree: 1, loopLagMs: 0, slotsTotal: 0, slotsUsed: 0, diskFree: 0 }

function advertOf (peerId: string, over: Partial<Advert> = {}): Advert {
  return { v: 1, type: 'advert', peerId, seq: 1, incarnation: 0, status: 'alive', addrs: [], resources, labels: {}, services: [], version: 'x', ...over }
}

describe('relayed adverts', function () {
  this.timeout(60_000)

  describe('signing and opening', () => {
    it('opens an advert signed by its member', async () => {
      const key = await generateKeyPair('Ed25519')
      const advert = advertOf(peerIdFromPrivateKey(key).toString(), { labels: { zone: 'a' } })
      const opened = await openSignedAdvert(await signAdvert(key, encodeMessage(advert)))
      expect(opened).to.deep.equal(advert)
    })

    it('refuses an advert signed by another key, an edited advert, and a signature of the wrong length', async () => {
      const key = await generateKeyPair('Ed25519')
      const other = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(key).toString()
      await expect(openSignedAdvert(await signAdvert(other, encodeMessage(advertOf(peerId))))).to.be.rejectedWith(ForgedAdvertError)
      const signed = await signAdvert(key, encodeMessage(advertOf(peerId)))
      const edited = toString(encodeMessage(advertOf(peerId, { labels: { owned: 'yes' } })), 'base64url')
      await expect(openSignedAdvert({ ...signed, advert: edited })).to.be.rejectedWith(ForgedAdvertError)
      await expect(openSignedAdvert({ ...signed, sig: toString(fromString(signed.sig, 'base64url').subarray(0, 10), 'base64url') })).to.be.rejectedWith(ForgedAdvertError)
    })

    it('refuses what is not a signed advert: a claim, garbage, bad base64, an oversized advert', async () => {
      const key = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(key).toString()
      const claim = await signAdvert(key, encodeMessage({ v: 1, type: 'suspect', target: peerId, incarnation: 0 }))
      await expect(openSignedAdvert(claim)).to.be.rejectedWith(MalformedMessageError, /carries an advert/)
      await expect(openSignedAdvert(await signAdvert(key, new TextEncoder().encode('{"v":1,')))).to.be.rejectedWith(MalformedMessageError)
      await expect(openSignedAdvert({ advert: '!!!', sig: 'AA' })).to.be.rejectedWith(MalformedMessageError)
      const big = await signAdvert(key, new Uint8Array(5 * 1024).fill(0x20))
      await expect(openSignedAdvert(big)).to.be.rejectedWith(OversizedAdvertError)
    })
  })

  describe('in a mesh', () => {
    let nodes: NoodleNode[] = []
    afterEach(async () => {
      await stopAll(nodes)
      nodes = []
    })

    it("a newcomer whose own gossip reaches nobody is known everywhere through the neighbour it pushed its advert to", async () => {
      nodes = await startMesh(3)
      await waitFor(() => converged(nodes), { what: 'convergence' })
      const [bootstrap, a, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
      const known = new Set(nodes.map(n => n.peerId.toString()))
      // nobody takes a membership message a stranger wrote: the newcomer's own adverts never count
      // (else the bootstrap might hear one before the push, and gossipsub would forward it as usual)
      for (const n of nodes) {
        const topic = n.services.membership.topic
        const validate = n.services.pubsub.topicValidators.get(topic)!
        n.services.pubsub.topicValidators.set(topic, async (peer, msg) =>
          msg.type === 'signed' && !known.has(msg.from.toString()) ? TopicValidatorResult.Ignore : validate(peer, msg))
      }
      // nor can the newcomer push its advert to them itself: only the bootstrap hears it first-hand
      for (const n of [a, b]) await n.unhandle('/noodle/members/sync/1.0.0')
      const newcomer = await localNode({ bootstrap: [bootstrap.getMultiaddrs()[0]!.toString()] })
      nodes.push(newcomer)
      // well before the 30 s anti-entropy pull that would otherwise tell them
      await waitFor(() => [a, b].every(n => n.services.membership.members().some(m => m.peerId === newcomer.peerId.toString() && m.status === 'alive')),
        { timeoutMs: 10_000, what: 'a and b to know the newcomer' })
      expect(bootstrap.services.membership.stats().advertsRelayed).to.be.greaterThanOrEqual(1)
      // what they hold is the newcomer's own advert, checked: its resources, not a neighbour's summary
      expect(a.services.membership.member(newcomer.peerId.toString()).resources.cpus).to.be.greaterThan(0)
    })

    it('a forged relay is rejected and counted, and names no member', async () => {
      nodes = await startMesh(3)
      await waitFor(() => converged(nodes), { what: 'convergence' })
      const [liar, , observer] = nodes as [NoodleNode, NoodleNode, NoodleNode]
      const stranger = await generateKeyPair('Ed25519')
      const strangerId = peerIdFromPrivateKey(stranger).toString()
      // signed by the liar's own key, claiming to be the stranger's advert
      const liarKey = await generateKeyPair('Ed25519')
      const forged = await signAdvert(liarKey, encodeMessage(advertOf(strangerId)))
      const before = observer.services.membership.stats().rejected.impersonation ?? 0
      await liar.services.pubsub.publish(liar.services.membership.topic, encodeMessage({ v: 1, type: 'relay', ...forged }))
      await waitFor(() => (observer.services.membership.stats().rejected.impersonation ?? 0) > before, { what: 'the forged relay to be rejected' })
      expect(observer.services.membership.members().some(m => m.peerId === strangerId)).to.equal(false)
      // a genuine relay of the stranger's advert is taken (anyone may pass a signed advert on)
      await liar.services.pubsub.publish(liar.services.membership.topic, encodeMessage({ v: 1, type: 'relay', ...await signAdvert(stranger, encodeMessage(advertOf(strangerId))) }))
      await waitFor(() => observer.services.membership.members().some(m => m.peerId === strangerId), { what: 'the genuine relay to be taken' })
    })
  })
})
