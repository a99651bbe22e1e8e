import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { expect } from 'chai'
import * as varint from 'uint8-varint'
import { frame } from '../../lib/frames.js'
import { PayloadTooLargeError, ServiceEndpointError } from '../../lib/interface/errors.js'
import { Request, Response } from '../../lib/rpc/pb/rpc.js'
import { SocketEndpoint, parseSocketEndpoint } from '../../lib/rpc/socket-endpoint.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const MAX = 64 * 1024

/** What the fake endpoint does with each batch of requests that arrived together. */
type Behaviour = (reqs: Request[], socket: Socket) => void

const answer = (socket: Socket, res: Response): void => { socket.write(frame(Response.encode(res)).subarray()) }
const echo: Behaviour = (reqs, socket) => { for (const r of reqs) answer(socket, { id: r.id, payload: r.payload }) }

/** An in-process endpoint on a Unix socket: decodes requests, hands each arriving batch to `behaviour`. */
async function endpointServer (path: string, behaviour: { current: Behaviour }): Promise<{ server: Server, connections: () => number, requests: Request[] }> {
  let connections = 0
  const requests: Request[] = []
  const server = createServer((socket) => {
    connections++
    const decoder = new LengthPrefixedDecoder({ maxDataLength: 1024 * 1024 })
    socket.on('data', (chunk) => {
      const batch = [...decoder.decode(chunk)].map(b => Request.decode(b.subarray()))
      requests.push(...batch)
      behaviour.current(batch, socket)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(path, resolve))
  return { server, connections: () => connections, requests }
}

const call = (ep: SocketEndpoint, payload: string, fn = 'f', timeoutMs = 5_000): Promise<Uint8Array> =>
  ep.call({ service: 'svc', fn, payload: new TextEncoder().encode(payload), timeoutMs, signal: new AbortController().signal })
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('socket endpoints (RPC frames to a local process on a Unix or TCP socket)', () => {
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let path: string
  let server: Server
  let connections: () => number
  let requests: Request[]
  const behaviour: { current: Behaviour } = { current: echo }
  let ep: SocketEndpoint

  beforeEach(async () => {
    dir = await tmpDir()
    path = join(dir.path, 'svc.sock')
    behaviour.current = echo;
    ({ server, connections, requests } = await endpointServer(path, behaviour))
    ep = new SocketEndpoint(`rpc+unix://${path}`, MAX)
  })
  afterEach(async () => {
    ep.close()
    await new Promise(resolve => server.close(resolve))
    await dir.cleanup()
  })

  it('parses rpc+unix and rpc+tcp endpoints and nothing else', () => {
    expect(parseSocketEndpoint('rpc+unix:///run/x.sock')).to.deep.equal({ path: '/run/x.sock' })
    expect(parseSocketEndpoint('rpc+unix:///tmp/a%20b.sock')).to.deep.equal({ path: '/tmp/a b.sock' })
    expect(parseSocketEndpoint('rpc+tcp://127.0.0.1:5000')).to.deep.equal({ host: '127.0.0.1', port: 5000 })
    expect(parseSocketEndpoint('rpc+tcp://[::1]:80')).to.deep.equal({ host: '::1', port: 80 })
    for (const bad of ['rpc+unix://host/x', 'rpc+unix:///', 'rpc+unix:relative', 'rpc+tcp://127.0.0.1', 'rpc+tcp://h:1/path', 'http://127.0.0.1:1', 'builtin:echo', 'not a url']) {
      expect(parseSocketEndpoint(bad), bad).to.equal(undefined)
    }
    expect(() => new SocketEndpoint('http://127.0.0.1:1', MAX)).to.throw(ServiceEndpointError)
  })

  it('sends every call on one connection and matches answers given in any order', async () => {
    // each batch answered last request first
    behaviour.current = (reqs, socket) => { for (const r of [...reqs].reverse()) answer(socket, { id: r.id, payload: r.payload }) }
    const answers = await Promise.all(Array.from({ length: 200 }, async (_, i) => text(await call(ep, `n${i}`))))
    expect(answers).to.deep.equal(Array.from({ length: 200 }, (_, i) => `n${i}`))
    expect(connections()).to.equal(1)
    // the request carries the call's names and its time left
    expect(requests[0]).to.include({ service: 'svc', fn: 'f', timeoutMs: 5_000 })
  })

  it('answers a service error as an error of that name, and keeps the connection', async () => {
    behaviour.current = (reqs, socket) => { for (const r of reqs) answer(socket, { id: r.id, error: { name: 'ValueError', message: `cannot use ${text(r.payload)}` }, payload: new Uint8Array() }) }
    const err = await call(ep, 'x').catch((e: Error) => e) as Error
    expect(err.name).to.equal('ValueError')
    expect(err.message).to.equal('cannot use x')
    behaviour.current = echo
    expect(text(await call(ep, 'then fine'))).to.equal('then fine')
    expect(connections()).to.equal(1)
  })

  it('refuses an answer over the size limit on its length prefix, drops the connection, and connects again for the next call', async () => {
    behaviour.current = (reqs, socket) => {
      // only the length prefix of a frame far over the limit: refused before it is buffered
      for (const _ of reqs) socket.write(varint.encode(10 * MAX))
    }
    const err = await call(ep, 'big').catch((e: Error) => e)
    expect(err).to.be.instanceOf(PayloadTooLargeError)
    behaviour.current = echo
    expect(text(await call(ep, 'again'))).to.equal('again')
    expect(connections()).to.equal(2)
  })

  it('fails the calls on a connection that sends garbage, and recovers', async () => {
    behaviour.current = (_reqs, socket) => { socket.write(Buffer.from([3, 0xff, 0xff, 0xff])) }
    const err = await call(ep, 'x').catch((e: Error) => e) as Error
    expect(err).to.be.instanceOf(ServiceEndpointError)
    expect(err.message).to.match(/malformed answer/)
    behaviour.current = echo
    expect(text(await call(ep, 'ok'))).to.equal('ok')
  })

  it('fails the calls in flight when the endpoint closes the connection, and connects again for the next', async () => {
    behaviour.current = (_reqs, socket) => { socket.destroy() }
    const errs = await Promise.all([call(ep, 'a'), call(ep, 'b')].map(async p => await p.catch((e: Error) => e)))
    for (const e of errs) expect(e).to.be.instanceOf(ServiceEndpointError)
    behaviour.current = echo
    expect(text(await call(ep, 'c'))).to.equal('c')
    expect(connections()).to.equal(2)
  })

  it('names an endpoint that is not listening', async () => {
    const nowhere = new SocketEndpoint(`rpc+unix://${join(dir.path, 'nothing.sock')}`, MAX)
    const err = await call(nowhere, 'x').catch((e: Error) => e) as Error
    expect(err).to.be.instanceOf(ServiceEndpointError)
    expect(err.message).to.match(/unreachable: ENOENT/)
    nowhere.close()
  })

  it('lets go of a call the endpoint never answers once its deadline has passed', async () => {
    behaviour.current = () => {}
    const started = performance.now()
    const err = await call(ep, 'x', 'f', 50).catch((e: Error) => e) as Error
    expect(err).to.be.instanceOf(ServiceEndpointError)
    expect(err.message).to.match(/did not answer in time/)
    // the server answered its caller at the deadline already; the sweep frees the slot within a second or so after
    expect(performance.now() - started).to.be.below(10_000)
  })

  it('close() fails what waits and the next call opens a new connection', async () => {
    behaviour.current = () => {}
    const waiting = call(ep, 'x').catch((e: Error) => e)
    await waitFor(() => requests.length === 1, { timeoutMs: 5_000, what: 'the request to arrive' })
    ep.close()
    expect(await waiting).to.be.instanceOf(ServiceEndpointError)
    behaviour.current = echo
    expect(text(await call(ep, 'y'))).to.equal('y')
    expect(connections()).to.equal(2)
  })

  it('speaks the same frames over TCP (rpc+tcp)', async () => {
    const tcp = createServer((socket) => {
      const decoder = new LengthPrefixedDecoder({ maxDataLength: 1024 * 1024 })
      socket.on('data', (chunk) => { for (const b of decoder.decode(chunk)) { const r = Request.decode(b.subarray()); answer(socket, { id: r.id, payload: r.payload }) } })
    })
    await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
    const port = (tcp.address() as { port: number }).port
    const over = new SocketEndpoint(`rpc+tcp://127.0.0.1:${port}`, MAX)
    try {
      expect(text(await call(over, 'over tcp'))).to.equal('over tcp')
    } finally {
      over.close()
      await new Promise(resolve => tcp.close(resolve))
    }
  })
})
