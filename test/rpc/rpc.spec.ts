import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import * as varint from 'uint8-varint'
import type { NoodleNode } from '../../lib/node/index.js'
import { Request } from '../../lib/rpc/pb/rpc.js'
import { frame } from '../../lib/frames.js'
import { startMesh, stopAll, converged } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { rejection } from '../utils/rejection.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** An external service: POST /upper upper-cases, /fail answers a named error, /slow never answers (but notices when the caller goes). */
async function textService (): Promise<{ server: Server, url: string, aborted: string[], seenTimeouts: string[] }> {
  const aborted: string[] = []
  const seenTimeouts: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    seenTimeouts.push(String(req.headers['x-noodle-timeout-ms']))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      if (req.url === '/upper') { res.end(body.toUpperCase()); return }
      if (req.url === '/fail') {
        res.writeHead(422, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { name: 'BadInputError', message: `cannot use "${body}"` } }))
        return
      }
      if (req.url === '/slow') {
        res.on('close', () => { if (!res.writableEnded) aborted.push(body) })
        return
      }
      res.writeHead(404).end('no such function')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, aborted, seenTimeouts }
}

describe('mesh rpc (in-process meshes)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  const servers: Server[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
    for (const s of servers.splice(0)) { s.closeAllConnections(); s.close() }
  })

  async function resolvable (caller: NoodleNode, service: string, instances: number): Promise<void> {
    await waitFor(async () => {
      const view = await caller.services.registry.resolve(service, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined)
      return view != null && view.instances.filter(i => i.healthy).length >= instances
    }, { what: `${instances} instance(s) of ${service} seen by the caller` })
  }

  it('calls a service on another node and gets its answer; its own instance is called without a hop', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    await b.services.registry.register({ name: 'echo', endpoint: 'builtin:echo' })
    await resolvable(a, 'echo', 1)
    const res = await a.services.rpc.call('echo', 'any', text('hello mesh'))
    expect(str(res.payload)).to.equal('hello mesh')
    expect(res.instance).to.equal(b.peerId.toString())
    expect(res.attempts).to.equal(1)
    expect(b.services.rpc.stats().server.served).to.equal(1)

    const local = await b.services.rpc.call('echo', 'any', text('no hop'))
    expect(str(local.payload)).to.equal('no hop')
    expect(b.services.rpc.stats().client.localCalls).to.equal(1)
    expect(b.services.rpc.stats().server.served).to.equal(1)
  })

  it('forwards calls to an external HTTP endpoint: answers, named errors, and the deadline on both sides', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const svc = await textService()
    servers.push(svc.server)
    await b.services.registry.register({ name: 'text', endpoint: svc.url })
    await resolvable(a, 'text', 1)

    expect(str((await a.services.rpc.call('text', 'upper', text('quiet'))).payload)).to.equal('QUIET')
    const failed = await rejection(a.services.rpc.call('text', 'fail', text('x')))
    expect(failed.name).to.equal('BadInputError')
    expect(failed.message).to.equal('cannot use "x"')

    const started = Date.now()
    const late = await rejection(a.services.rpc.call('text', 'slow', text('abandon me'), { timeoutMs: 400 }))
    expect(late.name).to.equal('DeadlineExceededError')
    expect(Date.now() - started).to.be.below(5_000)
    // the callee stopped working on it too: the endpoint saw its request aborted
    await waitFor(() => svc.aborted.includes('abandon me'), { what: 'the callee to abort the slow request' })
    // the deadline travelled with the request
    expect(Number(svc.seenTimeouts.at(-1))).to.be.within(1, 400)

    // the caller gives up before the deadline: its reason, at once, and a cancel frame tells the callee, which closes the request
    const controller = new AbortController()
    const call = a.services.rpc.call('text', 'slow', text('never mind'), { timeoutMs: 800, signal: controller.signal })
    await waitFor(() => svc.seenTimeouts.length === 4, { what: 'the slow request to reach the endpoint' })
    const gaveUp = Date.now()
    controller.abort(new Error('the caller went away'))
    const abandoned = await rejection(call)
    expect(abandoned.message).to.equal('the caller went away')
    expect(Date.now() - gaveUp).to.be.below(400)
    await waitFor(() => svc.aborted.includes('never mind'), { what: 'the callee to abort the abandoned request' })
    expect(b.services.rpc.stats().server.cancelled).to.equal(1)
    // a signal aborted before the call: nothing is sent
    const before = await rejection(a.services.rpc.call('text', 'upper', text('x'), { signal: AbortSignal.abort(new Error('already gone')) }))
    expect(before.message).to.equal('already gone')
    expect(svc.seenTimeouts).to.have.length(4)
  })

  it('tells an unknown service from one without a live instance, and refuses an oversized payload before sending', async () => {
    nodes = await startMesh(2, { registry: { useDht: false }, rpc: { maxMessageBytes: 1024 } })
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    expect((await rejection(a.services.rpc.call('nobody-has-this', 'f', text('x')))).name).to.equal('ServiceNotFoundError')

    await b.services.registry.register({ name: 'ttl-svc', endpoint: 'builtin:echo', check: { type: 'ttl', ttlMs: 60_000 } })
    // registered but never passed: critical, so b knows an instance, and none is live
    expect((await rejection(b.services.rpc.call('ttl-svc', 'f', text('x')))).name).to.equal('NoInstanceError')
    await b.services.registry.register({ name: 'echo', endpoint: 'builtin:echo' })
    await resolvable(a, 'echo', 1)
    const big = await rejection(a.services.rpc.call('echo', 'f', new Uint8Array(2048)))
    expect(big.name).to.equal('PayloadTooLargeError')
    expect(b.services.rpc.stats().server.served).to.equal(0)

    await b.services.registry.deploy({ name: 'placed', replicas: 1 })
    await waitFor(() => a.services.registry.catalog.has('placed'), { what: 'the spec on a' })
    // a placed replica of a service with no module has no handler: NoHandlerError, after trying every instance
    const none = await rejection(a.services.rpc.call('placed', 'f', text('x')))
    expect(['NoHandlerError', 'NoInstanceError']).to.include(none.name)
  })

  it('a malformed or oversized frame aborts only that stream, is counted, and the callee keeps serving', async () => {
    nodes = await startMesh(2, { rpc: { maxMessageBytes: 1024 } })
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    await b.services.registry.register({ name: 'echo', endpoint: 'builtin:echo' })
    await resolvable(a, 'echo', 1)
    const protocol = a.services.rpc.protocol

    // not protobuf at all
    const garbage = await a.dialProtocol(b.peerId, protocol)
    garbage.send(frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])))
    await waitFor(() => b.services.rpc.stats().server.malformedFrames === 1, { what: 'the garbage frame to be counted' })
    await waitFor(() => garbage.status !== 'open', { what: 'the garbage stream to be aborted' })

    // a length prefix of 1 GiB: refused on the prefix, nothing allocated for it
    const huge = await a.dialProtocol(b.peerId, protocol)
    huge.send(varint.encode(1024 * 1024 * 1024))
    await waitFor(() => b.services.rpc.stats().server.malformedFrames === 2, { what: 'the oversized frame to be counted' })

    // a request missing its names is answered with an error, not a crash
    const nameless = await a.dialProtocol(b.peerId, protocol)
    const answers: Uint8Array[] = []
    nameless.addEventListener('message', (evt) => { answers.push(evt.data.subarray()) })
    nameless.send(frame(Request.encode({ id: 7, service: '', fn: '', timeoutMs: 1000, idempotent: false, payload: new Uint8Array(0) })))
    await waitFor(() => answers.length > 0, { what: 'an answer to the nameless request' })

    expect(str((await a.services.rpc.call('echo', 'f', text('still here'))).payload)).to.equal('still here')
  })

  it('when an instance\'s daemon is suspected, its idempotent calls move on at once and the others wait for their answer', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    // an endpoint that holds every request until released
    const held: Array<{ body: string, release: () => void }> = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        held.push({ body, release: () => { res.end(body) } })
      })
    })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await b.services.registry.register({ name: 'held', endpoint: url })
    await resolvable(a, 'held', 1)

    const kept = a.services.rpc.call('held', 'f', text('not idempotent'), { timeoutMs: 20_000 })
    const moved = a.services.rpc.call('held', 'f', text('idempotent'), { timeoutMs: 20_000, idempotent: true })
    await waitFor(() => held.length === 2, { what: 'both calls to reach the endpoint through b' })
    await c.services.registry.register({ name: 'held', endpoint: url })
    await resolvable(a, 'held', 2)

    // b is suspected (as a's failure detector would say it: the event the rpc service listens to)
    a.services.membership.safeDispatchEvent('member', { detail: { type: 'suspect', peerId: b.peerId.toString(), status: 'suspect', incarnation: 0, time: new Date().toISOString() } })
    await waitFor(() => held.length === 3, { what: 'the idempotent call to be sent again, to c' })
    expect(held[2]!.body).to.equal('idempotent')
    for (const h of held) h.release()

    const keptRes = await kept
    expect(str(keptRes.payload)).to.equal('not idempotent')
    expect(keptRes.instance).to.equal(b.peerId.toString())
    const movedRes = await moved
    expect(movedRes.instance).to.equal(c.peerId.toString())
    expect(movedRes.attempts).to.equal(2)
    expect(a.services.rpc.stats().client.retries).to.equal(1)
  })

  it('retries idempotent calls on another instance when one stops mid-stream: every call is answered once and all succeed', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    await b.services.registry.register({ name: 'echo', endpoint: 'builtin:echo' })
    await c.services.registry.register({ name: 'echo', endpoint: 'builtin:echo' })
    await resolvable(a, 'echo', 2)
    let answered = 0
    let failed = 0
    let stopped = false
    const used = new Set<string>()
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 150; i++) {
        try {
          const res = await a.services.rpc.call('echo', 'f', text(`${w}:${i}`), { idempotent: true, timeoutMs: 5_000 })
          expect(str(res.payload)).to.equal(`${w}:${i}`)
          used.add(res.instance)
          answered++
        } catch (err) {
          failed++
          throw err
        }
        if (!stopped && answered >= 200) {
          stopped = true
          void c.stop()
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, async (_, w) => worker(w)))
    expect(failed).to.equal(0)
    expect(answered).to.equal(8 * 150)
    expect(used.size).to.equal(2)
  })
})
