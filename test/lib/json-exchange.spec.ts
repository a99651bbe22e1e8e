import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { connectedPeerSample } from '../../lib/json-exchange.js'

/** Only what connectedPeerSample reads of a connection manager: its connections' remote peers. */
function withConnections (peers: PeerId[]): ConnectionManager {
  return { getConnections: () => peers.map(remotePeer => ({ remotePeer }) as unknown as Connection) } as unknown as ConnectionManager
}

describe('connectedPeerSample', () => {
  let peers: PeerId[] = []
  before(async () => {
    peers = await Promise.all(Array.from({ length: 6 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })

  it('gives up to max distinct peers, a peer with two connections once, never the one excepted', () => {
    const cm = withConnections([...peers, peers[0]!, peers[1]!])
    for (let i = 0; i < 50; i++) {
      const sample = connectedPeerSample(cm, 4, peers[2]!.toString()).map(p => p.toString())
      expect(sample).to.have.length(4)
      expect(new Set(sample).size).to.equal(4)
      expect(sample).to.not.include(peers[2]!.toString())
    }
    expect(connectedPeerSample(cm, 16).map(p => p.toString())).to.have.members(peers.map(p => p.toString()))
    expect(connectedPeerSample(withConnections([]), 4)).to.deep.equal([])
  })

  it('is not the first connections every time: over many draws of 2, every peer is picked', () => {
    const cm = withConnections(peers)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) for (const p of connectedPeerSample(cm, 2)) seen.add(p.toString())
    expect(seen.size).to.equal(peers.length)
  })
})
