import { logger } from '@libp2p/logger'
import { expect } from 'chai'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import { DeadlineExceededError } from '../../lib/interface/errors.js'
import { RpcChannel } from '../../lib/rpc/channel.js'
import { CallDeadline } from '../../lib/rpc/deadline.js'
import type { LocalEndpoint } from '../../lib/rpc/handlers.js'
import { RpcServer } from '../../lib/rpc/server.js'
import { cancelFrame } from '../../lib/rpc/wire.js'
import { rejection } from '../utils/rejection.js'
import { StubNetwork, type StubPeer } from '../utils/stub-network.js'
import { waitFor } from '../utils/wait-for.js'

const PROTOCOL = '/test/rpc/1.0.0'
const MAX = 64 * 1024
const text = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s)

describe('RPC server and channel (stubbed components, in-memory streams)', () => {
  let net: StubNetwork
  let caller: StubPeer
  let callee: StubPeer
  let server: RpcServer
  const endpoints = new Map<string, LocalEndpoint>()

  beforeEach(async () => {
    net = new StubNetwork()
    const peers = await net.peersOf(2)
    caller = peers[0]!
    callee = peers[1]!
    net.connect(caller, callee)
    endpoints.clear()
    endpoints.set('echo', { kind: 'builtin', name: 'echo' })
    server = new RpcServer(callee.registrar, { protocol: PROTOCOL, maxMessageBytes: MAX, localEndpoint: (s) => endpoints.get(s), starting: (s) => s === 'warming', log: logger('test:rpc') })
    await server.start()
  })

  afterEach(async () => { await server.stop() })

  async function channel (): Promise<RpcChannel> {
    return new RpcChannel(await caller.openStream(callee.peerId, PROTOCOL), MAX, () => {})
  }

  const call = async (ch: RpcChannel, service: string, fn: string, payload: Uint8Array<ArrayBuffer>, timeoutMs = 5_000): Promise<Uint8Array> =>
    await ch.call({ service, fn, payload, timeoutMs, idempotent: true }, new CallDeadline(timeoutMs, () => new DeadlineExceededError('late')))

  it('answers many calls on one stream, matched by id whatever order they finish in', async () => {
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    endpoints.set('slow', { kind: 'module', handler: async (c) => { await gate; return c.payload as Uint8Array<ArrayBuffer> } })
    const ch = await channel()
    const slow = call(ch, 'slow', 'f', text('first'))
    const fast = await Promise.all(Array.from({ length: 20 }, async (_, i) => await call(ch, 'echo', 'f', text(`n${i}`))))
    expect(fast.map(b => new TextDecoder().decode(b))).to.deep.equal(Array.from({ length: 20 }, (_, i) => `n${i}`))
    release()
    expect(new TextDecoder().decode(await slow)).to.equal('first')
    expect(caller.opened.get(PROTOCOL)).to.equal(1)
    expect(server.counters.served).to.equal(21)
  })

  it('names what it cannot serve: an unknown service, one still starting, a late answer', async () => {
    endpoints.set('stuck', { kind: 'module', handler: async () => await new Promise<Uint8Array>(() => {}) })
    const ch = await channel()
    expect((await rejection(call(ch, 'nope', 'f', text('x')))).name).to.equal('NoHandlerError')
    expect((await rejection(call(ch, 'warming', 'f', text('x')))).name).to.equal('ServiceNotReadyError')
    expect((await rejection(call(ch, 'stuck', 'f', text('x'), 100))).name).to.equal('DeadlineExceededError')
    // the stream is still good for the next call
    expect(new TextDecoder().decode(await call(ch, 'echo', 'f', text('after')))).to.equal('after')
  })

  it('a caller that gives up before the deadline cancels the call on the callee; one that times out sends nothing', async () => {
    const seen: string[] = []
    endpoints.set('stuck', {
      kind: 'module',
      handler: async (c) => await new Promise<Uint8Array>((_resolve, reject) => {
        c.signal.addEventListener('abort', () => { seen.push(c.signal.reason.name); reject(c.signal.reason) }, { once: true })
      })
    })
    const ch = await channel()
    const controller = new AbortController()
    const cancelled = ch.call({ service: 'stuck', fn: 'f', payload: text('x'), timeoutMs: 5_000, idempotent: false }, new CallDeadline(5_000, () => new DeadlineExceededError('late'), controller.signal))
    await waitFor(() => server.counters.served + server.counters.serveErrors === 0 && ch.outstanding === 1, { what: 'the call to be sent' })
    controller.abort(Object.assign(new Error('hedge won elsewhere'), { name: 'AbortError' }))
    expect((await rejection(cancelled)).name).to.equal('AbortError')
    await waitFor(() => server.counters.cancelled === 1, { what: 'the callee to hear the cancel' })
    expect(seen).to.deep.equal(['CancelledError'])
    // at the deadline both sides end the call by themselves: no cancel frame
    expect((await rejection(call(ch, 'stuck', 'f', text('y'), 100))).name).to.equal('DeadlineExceededError')
    await waitFor(() => seen.length === 2, { what: 'the callee\'s deadline' })
    expect(seen[1]).to.equal('DeadlineExceededError')
    expect(server.counters.cancelled).to.equal(1)
    expect(new TextDecoder().decode(await call(ch, 'echo', 'f', text('after')))).to.equal('after')
  })

  it('a cancel frame for a call that is not there is ignored', async () => {
    const ch = await channel()
    ch.stream.send(cancelFrame(12345))
    expect(new TextDecoder().decode(await call(ch, 'echo', 'f', text('still')))).to.equal('still')
    expect(server.counters.cancelled).to.equal(0)
    expect(server.counters.malformedFrames).to.equal(0)
  })

  it('a malformed frame costs its stream only: waiting calls fail as unreachable, a new stream is served', async () => {
    endpoints.set('stuck', { kind: 'module', handler: async () => await new Promise<Uint8Array>(() => {}) })
    const ch = await channel()
    const waiting = call(ch, 'stuck', 'f', text('x'))
    // a frame that is no Request
    ch.stream.send(new Uint8ArrayList(varint.encode(3), new Uint8Array([0xff, 0xff, 0xff])))
    expect((await rejection(waiting)).name).to.equal('InstanceUnreachableError')
    await waitFor(() => server.counters.malformedFrames === 1, { what: 'the frame to be counted' })
    expect(new TextDecoder().decode(await call(await channel(), 'echo', 'f', text('again')))).to.equal('again')
  })

  it('a frame longer than the limit is refused on its length prefix', async () => {
    const ch = await channel()
    ch.stream.send(new Uint8ArrayList(varint.encode(MAX * 4)))
    await waitFor(() => server.counters.malformedFrames === 1, { what: 'the oversized frame to be refused' })
    await waitFor(() => !ch.open, { what: 'the stream to end' })
  })

  it('a channel whose stream ends fails its waiting calls and takes no more', async () => {
    endpoints.set('stuck', { kind: 'module', handler: async () => await new Promise<Uint8Array>(() => {}) })
    const ch = await channel()
    const waiting = call(ch, 'stuck', 'f', text('x'))
    ch.stream.abort(new Error('gone'))
    expect((await rejection(waiting)).name).to.equal('InstanceUnreachableError')
    expect(ch.open).to.equal(false)
    expect((await rejection(call(ch, 'echo', 'f', text('x')))).name).to.equal('InstanceUnreachableError')
  })

  it('stopping the server ends the calls it is handling', async () => {
    let entered = false
    endpoints.set('stuck', { kind: 'module', handler: async () => { entered = true; return await new Promise<Uint8Array<ArrayBuffer>>(() => {}) } })
    const ch = await channel()
    const waiting = call(ch, 'stuck', 'f', text('x'))
    await waitFor(() => entered, { what: 'the call to reach its handler' })
    await server.stop()
    expect((await rejection(waiting)).name).to.be.oneOf(['NoHandlerError', 'InstanceUnreachableError'])
  })
})
