import { createServer } from 'node:net'
import { expect } from 'chai'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NoodleNode } from '../../lib/node/index.js'
import { localNode, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

function connectedToAll (nodes: NoodleNode[]): boolean {
  return nodes.every(n => nodes.every(m => m === n || n.getConnections(m.peerId).length > 0))
}

/** A loopback port nobody listens on (bound, then released). */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  return port
}

describe('in-process mesh', function () {
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('three nodes bootstrapped from one end up connected to each other, not a star', async () => {
    nodes = await startMesh(3)
    await waitFor(() => connectedToAll(nodes), { what: 'a full 3-node mesh' })
  })

  it('speaks the DHT on /noodle/kad/1.0.0, never the public IPFS DHT protocol', async () => {
    nodes = await startMesh(2)
    const protocols = nodes[0]!.getProtocols()
    expect(protocols).to.include('/noodle/kad/1.0.0')
    expect(protocols).to.include('/noodle/id/1.0.0')
    expect(protocols).to.include('/noodle/ping/1.0.0')
    expect(protocols.filter(p => p.startsWith('/ipfs/'))).to.deep.equal([])
    expect(protocols).to.not.include('/floodsub/1.0.0')
  })

  it('resolves a peer through the DHT with its loopback addresses kept (private addresses not filtered)', async () => {
    nodes = await startMesh(3)
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    await waitFor(() => a.getConnections(b.peerId).length > 0 && a.getConnections(c.peerId).length > 0, { what: 'a to know both' })
    const found = await b.peerRouting.findPeer(c.peerId, { signal: AbortSignal.timeout(10_000) })
    expect(found.id.equals(c.peerId)).to.equal(true)
    expect(found.multiaddrs.map(m => m.toString()).some(m => m.startsWith('/ip4/127.0.0.1/'))).to.equal(true)
  })

  it('carries gossipsub messages between nodes that only share a bootstrap peer', async () => {
    nodes = await startMesh(3)
    const [, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const topic = 'noodle/test/1'
    for (const n of nodes) n.services.pubsub.subscribe(topic)
    const received = new Promise<string>(resolve => {
      c.services.pubsub.addEventListener('message', (evt) => {
        if (evt.detail.topic === topic) resolve(new TextDecoder().decode(evt.detail.data))
      })
    })
    await waitFor(() => b.services.pubsub.getSubscribers(topic).length >= 1, { what: 'b to see subscribers' })
    // publishing is retried until the mesh has formed; delivery itself is awaited as an event
    let got: string | undefined
    received.then(v => { got = v }, () => {})
    await waitFor(async () => {
      if (got != null) return got
      await b.services.pubsub.publish(topic, new TextEncoder().encode('hello from b')).catch(() => {})
      return undefined
    }, { intervalMs: 250, what: 'c to receive the message' })
    expect(await received).to.equal('hello from b')
  })

  it('nodes with different protocol prefixes do not speak each other\'s DHT', async () => {
    const a = await localNode({ protocolPrefix: '/noodle' })
    const b = await localNode({ protocolPrefix: '/other', bootstrap: [a.getMultiaddrs()[0]!.toString()] })
    nodes = [a, b]
    expect(b.getProtocols()).to.include('/other/kad/1.0.0')
    await waitFor(() => b.getConnections(a.peerId).length > 0, { what: 'the bootstrap connection' })
    await expect(b.dialProtocol(a.peerId, '/other/kad/1.0.0')).to.be.rejectedWith(/protocol/i)
  })

  it('accepts a bootstrap address without /p2p/ and learns the peer id', async () => {
    const a = await localNode()
    const bare = a.getMultiaddrs()[0]!.decapsulateCode(multiaddr('/p2p/' + a.peerId.toString()).getComponents()[0]!.code).toString()
    expect(bare).to.not.include('/p2p/')
    const b = await localNode({ bootstrap: [bare] })
    nodes = [a, b]
    await waitFor(() => b.getConnections(a.peerId).length > 0, { what: 'b to connect to a' })
  })

  it('keeps retrying an unreachable bootstrap peer with backoff, then joins when it appears', async () => {
    const port = await freePort()
    const b = await localNode({
      bootstrap: [`/ip4/127.0.0.1/tcp/${port}`],
      bootstrapper: { backoff: { minMs: 50, maxMs: 400 } }
    })
    nodes = [b]
    const attempts: number[] = []
    b.services.bootstrapper.addEventListener('bootstrap:retry', (evt) => { attempts.push(evt.detail.attempt) })
    await waitFor(() => attempts.length >= 3, { what: 'three retries' })
    expect(attempts.slice(0, 3)).to.deep.equal([1, 2, 3])

    const connected = new Promise<string>(resolve => {
      b.services.bootstrapper.addEventListener('bootstrap:connected', (evt) => { resolve(evt.detail.peerId) })
    })
    const a = await localNode({ listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    nodes.push(a)
    expect(await connected).to.equal(a.peerId.toString())
  })

  it('goes back to its bootstrap list after losing every connection', async () => {
    const port = await freePort()
    const listen = [`/ip4/127.0.0.1/tcp/${port}`]
    const a = await localNode({ listen })
    const b = await localNode({ bootstrap: listen, bootstrapper: { backoff: { minMs: 50, maxMs: 400 } } })
    nodes = [a, b]
    const joins: string[] = []
    let retries = 0
    b.services.bootstrapper.addEventListener('bootstrap:connected', (evt) => { joins.push(evt.detail.peerId) })
    b.services.bootstrapper.addEventListener('bootstrap:retry', () => { retries++ })
    await waitFor(() => joins.length === 1, { what: 'the first join' })

    await a.stop()
    await waitFor(() => retries > 0, { what: 'b to start retrying once isolated' })
    const a2 = await localNode({ listen })
    nodes.push(a2)
    await waitFor(() => joins.length === 2, { what: 'b to rejoin through the bootstrap address' })
    expect(joins[1]).to.equal(a2.peerId.toString())
  })

  it('skips its own address in a shared bootstrap list instead of dialling itself forever', async () => {
    const key = await generateKeyPair('Ed25519')
    const port = await freePort()
    const own = `/ip4/127.0.0.1/tcp/${port}`
    const withId = `${own}/p2p/${peerIdFromPrivateKey(key).toString()}`
    const a = await localNode({ privateKey: key, listen: [own], bootstrap: [withId, own] })
    nodes = [a]
    await waitFor(() => {
      const status = a.services.bootstrapper.status()
      return status[withId] === 'self' && status[own] === 'self'
    }, { what: 'both own addresses to be recognised' })
  })
})

describe('bootstrapper: dials to discovered peers', function () {
  let nodes: NoodleNode[] = []
  const servers: Array<import('node:net').Server> = []
  const sockets: Array<import('node:net').Socket> = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
    sockets.splice(0).forEach(s => s.destroy())
    await Promise.all(servers.splice(0).map(async s => {
      await new Promise<void>(resolve => { s.close(() => { resolve() }) })
    }))
  })

  it('opens no more than minConnections at once when many peers are discovered together', async () => {
    // 12 listeners that accept and then say nothing: each dial stays in its handshake
    const accepted: string[] = []
    const addrs: string[] = []
    for (let i = 0; i < 12; i++) {
      const server = createServer(socket => {
        accepted.push(String(i))
        sockets.push(socket)
        socket.on('error', () => {})
      })
      servers.push(server)
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      addrs.push(`/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`)
    }
    const a = await localNode({ bootstrapper: { minConnections: 3 } })
    nodes = [a]
    // a member list arriving: every peer lands in the peer store at once (a peer:discovery each)
    await Promise.all(addrs.map(async addr => {
      const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      await a.peerStore.merge(id, { multiaddrs: [multiaddr(addr)] })
    }))
    await waitFor(() => accepted.length >= 3, { what: 'the first discovery dials' })
    // the decisions were taken synchronously on each discovery event; none is pending
    expect(a.getDialQueue().length).to.equal(3)
    expect(accepted.length).to.equal(3)
  })
})
