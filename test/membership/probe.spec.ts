import { expect } from 'chai'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PROBE_PROTOCOL_SUFFIX } from '../../lib/membership/constants.js'
import { isRefusal } from '../../lib/membership/probe.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { answers, frame } from '../utils/raw-frames.js'
import { startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../../lib/constants.js'

const PROTOCOL = `${DEFAULT_PROTOCOL_PREFIX}${PROBE_PROTOCOL_SUFFIX}`

/** A TCP listener that accepts and never speaks: a dial or probe to it hangs until its deadline. */
async function silentListener (): Promise<{ port: number, close: () => void }> {
  const sockets: Socket[] = []
  const server: Server = createServer(socket => { sockets.push(socket) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => { sockets.forEach(s => s.destroy()); server.close() }
  }
}

describe('probe protocol', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('answers many requests on one stream, matched by nonce', async () => {
    nodes = await startMesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const stream = await a.dialProtocol(b.peerId, PROTOCOL)
    const got = answers(stream)
    stream.send(new Uint8ArrayList(frame({ type: 'ping', nonce: 7 }), frame({ type: 'ping', nonce: 8 })))
    stream.send(frame({ type: 'ping', nonce: 9 }))
    await waitFor(() => got.length === 3, { what: 'three acks' })
    expect(got.map(r => [r.type, r.nonce])).to.deep.equal([['ack', 7], ['ack', 8], ['ack', 9]])
    expect(got.every(r => typeof r.incarnation === 'number')).to.equal(true)
  })

  it('a malformed or oversized frame costs the sender its stream, is counted, and nothing else', async () => {
    nodes = await startMesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const before = b.services.membership.stats().rejected.malformed ?? 0

    const bad = await a.dialProtocol(b.peerId, PROTOCOL)
    bad.send(frame({ type: 'ping', nonce: 'not a number' }))
    await waitFor(() => bad.status !== 'open', { what: 'the malformed stream to be closed' })

    const huge = await a.dialProtocol(b.peerId, PROTOCOL)
    huge.send(new Uint8ArrayList(varint.encode(64 * 1024 * 1024), new Uint8Array(16)))
    await waitFor(() => huge.status !== 'open', { what: 'the oversized stream to be closed' })

    await waitFor(() => (b.services.membership.stats().rejected.malformed ?? 0) >= before + 2, { what: 'both to be counted' })
    const good = await a.dialProtocol(b.peerId, PROTOCOL)
    const got = answers(good)
    good.send(frame({ type: 'ping', nonce: 1 }))
    await waitFor(() => got.length === 1, { what: 'a well-formed probe to be answered' })
    expect(a.getConnections(b.peerId).length).to.be.greaterThan(0)
  })

  it('a requester that goes away before its indirect probe is answered does not upset the helper', async () => {
    // the helper's probe of a silent target hangs until its timeout
    const silent = await silentListener()
    try {
      const port = silent.port
      const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      nodes = await startMesh(2)
      const [a, b] = nodes as [NoodleNode, NoodleNode]
      const req = { type: 'ping-req', target, addrs: [`/ip4/127.0.0.1/tcp/${port}`], timeoutMs: 300 }
      const gone = await a.dialProtocol(b.peerId, PROTOCOL)
      gone.send(frame({ ...req, nonce: 1 }))
      await gone.close()
      // a second request for the same target is answered after the first one's relay ended
      const stream = await a.dialProtocol(b.peerId, PROTOCOL)
      const got = answers(stream)
      stream.send(frame({ ...req, nonce: 2 }))
      await waitFor(() => got.length === 1, { what: 'the nack' })
      expect(got[0]).to.deep.include({ type: 'nack', nonce: 2 })
      stream.send(frame({ type: 'ping', nonce: 3 }))
      await waitFor(() => got.length === 2, { what: 'the helper to go on answering' })
      expect(got[1]).to.deep.include({ type: 'ack', nonce: 3 })
    } finally {
      silent.close()
    }
  })

  it('tells a refused dial (the process is gone) from a timeout', async () => {
    nodes = await startMesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const addr = b.getMultiaddrs()[0]!
    await b.stop()
    const refused = await a.dial(addr, { signal: AbortSignal.timeout(10_000) }).then(() => undefined, (err: unknown) => err)
    expect(isRefusal(refused), String(refused)).to.equal(true)
    // a helper asked to probe it says so in its nack, so the requester has the same evidence
    const c = await startMesh(1)
    nodes.push(...c)
    await a.dial(c[0]!.getMultiaddrs()[0]!)
    const viaHelper = await a.dialProtocol(c[0]!.peerId, PROTOCOL)
    const got = answers(viaHelper)
    viaHelper.send(frame({ type: 'ping-req', nonce: 5, target: b.peerId.toString(), addrs: [addr.toString()], timeoutMs: 2000 }))
    await waitFor(() => got.length === 1, { what: 'the helper to answer' })
    expect(got[0]).to.deep.equal({ type: 'nack', nonce: 5, refused: true })
    // a silent listener: the dial times out instead
    const silent = await silentListener()
    try {
      const port = silent.port
      const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      await a.peerStore.merge(target, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] })
      const timedOut = await a.dial(target, { signal: AbortSignal.timeout(300) }).then(() => undefined, (err: unknown) => err)
      expect(timedOut).to.be.instanceOf(Error)
      expect(isRefusal(timedOut)).to.equal(false)
    } finally {
      silent.close()
    }
  })

  it('a dial of several addresses is a refusal only when every address refused', () => {
    // a failed dial of an old address beside a timed-out new one is no refusal
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    expect(isRefusal(new AggregateError([refused, new Error('The operation was aborted due to timeout')]))).to.equal(false)
    expect(isRefusal(new AggregateError([refused, refused]))).to.equal(true)
  })

  it('membership probes reuse one stream per peer', async () => {
    nodes = await startMesh(3)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    await waitFor(() => a.services.membership.stats().probes >= 6, { timeoutMs: 30_000, what: 'several probe rounds' })
    const outbound = a.getConnections(b.peerId).flatMap(c => c.streams).filter(s => s.protocol === PROTOCOL && s.direction === 'outbound')
    expect(outbound.length).to.be.at.most(1)
  })
})
