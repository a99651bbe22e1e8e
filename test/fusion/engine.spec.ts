import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import type { NoodleNode } from '../../lib/node/index.js'
import type { FusionEngine } from '../../lib/fusion/index.js'
import { localNode, stopAll, converged } from '../utils/test-mesh.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { rejection } from '../utils/rejection.js'

const LABELS = ['0', '1', '2', '3']

/** How a test processor answers: scores (one per label), or a misbehaviour. */
type Behaviour = number[] | 'hang' | 'fail' | 'garbage' | { delayMs: number, scores: number[] } | { blockMs: number, scores: number[] }

/**
 * Processors as external HTTP services: POST /<name>/classify answers per
 * `behaviours[name]`; every request whose connection closed before its
 * answer (the caller cancelled) is listed in `aborted`.
 */
async function processors (behaviours: Record<string, Behaviour>): Promise<{ server: Server, url: (name: string) => string, aborted: string[], seen: string[] }> {
  const aborted: string[] = []
  const seen: string[] = []
  const server = createServer((req, res) => {
    const name = (req.url ?? '').split('/')[1] ?? ''
    seen.push(name)
    req.resume()
    req.on('end', () => {
      const b = behaviours[name]
      const answer = (scores: number[]): void => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ scores })) }
      if (b == null) { res.writeHead(404).end(); return }
      if (b === 'hang') { res.on('close', () => { if (!res.writableEnded) aborted.push(name) }); return }
      if (b === 'fail') { res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { name: 'ModelError', message: 'weights missing' } })); return }
      if (b === 'garbage') { res.end('{"scores": [1, "x", 0, 0]}'); return }
      if (Array.isArray(b)) { answer(b); return }
      if ('blockMs' in b) {
        // a stall of the whole process (a long GC, a busy loop): the engine's timers cannot fire either
        const until = performance.now() + b.blockMs
        while (performance.now() < until);
        answer(b.scores)
        return
      }
      const timer = setTimeout(() => { answer(b.scores) }, b.delayMs)
      res.on('close', () => { if (!res.writableEnded) { clearTimeout(timer); aborted.push(name) } })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { server, url: (name) => `http://127.0.0.1:${port}/${name}`, aborted, seen }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('fusion engine (in-process mesh, processors as external services)', function () {
  this.timeout(120_000)
  let nodes: NoodleNode[] = []
  const stores: GraphStore[] = []
  const servers: Server[] = []
  let dir: Awaited<ReturnType<typeof tmpDir>>

  async function mesh (n: number): Promise<NoodleNode[]> {
    dir = await tmpDir()
    const make = async (i: number, bootstrap: string[]): Promise<NoodleNode> => {
      // as the daemon does: the store signs its graphs with the node's key, so the mesh's catalog takes them
      const privateKey = await generateKeyPair('Ed25519')
      const store = new GraphStore({ path: `${dir.path}/kg${i}`, owner: peerIdFromPrivateKey(privateKey).toString(), key: privateKey, log: defaultLogger().forComponent('test:kg') })
      await store.start()
      stores.push(store)
      const node = await localNode({ privateKey, bootstrap, knowledge: { store }, fusion: { provenance: { flushMs: 50 } } })
      return node
    }
    const first = await make(0, [])
    const rest = await Promise.all(Array.from({ length: n - 1 }, async (_, i) => await make(i + 1, [first.getMultiaddrs()[0]!.toString()])))
    nodes = [first, ...rest]
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    return nodes
  }

  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
    await Promise.all(stores.splice(0).map(async s => { await s.stop() }))
    for (const s of servers.splice(0)) { s.closeAllConnections(); s.close() }
    await dir?.cleanup()
  })

  const engine = (n: NoodleNode): FusionEngine => n.services.fusion!

  async function healthy (caller: NoodleNode, service: string, instances: number): Promise<void> {
    await waitFor(async () => {
      const view = await caller.services.registry.resolve(service, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined)
      return view != null && view.instances.filter(i => i.healthy).length >= instances
    }, { what: `${instances} instance(s) of ${service}` })
  }

  /**
   * The digits task defined on `on`, with an image processor `image-lr` (service `img`, registered on
   * hosts[0]) and an audio one `audio-mfcc` (service `snd`, on hosts[1]), answering as `behaviours` say.
   */
  async function imageAndAudio (on: NoodleNode, hosts: [NoodleNode, NoodleNode], behaviours: { img: Behaviour, snd: Behaviour }): Promise<void> {
    const svc = await processors(behaviours)
    servers.push(svc.server)
    await hosts[0].services.registry.register({ name: 'img', endpoint: svc.url('img') })
    await hosts[1].services.registry.register({ name: 'snd', endpoint: svc.url('snd') })
    await digitsTask(on)
    await engine(on).registerProcessor({ name: 'image-lr', task: 'digits', service: 'img', modality: 'image', mediaTypes: ['image/png'], calibrated: true })
    await engine(on).registerProcessor({ name: 'audio-mfcc', task: 'digits', service: 'snd', modality: 'audio', mediaTypes: ['audio/wav'], calibrated: true })
  }

  async function digitsTask (on: NoodleNode, extra: Record<string, unknown> = {}): Promise<void> {
    await engine(on).defineTask({ name: 'digits', labels: LABELS, modalities: ['image', 'audio'], deadlineMs: 400, ...extra })
  }

  it('defines a task on one daemon, registers processors there, and fuses from another: every modality called, the answer explained from the graph', async () => {
    const [a, b, c] = await mesh(3) as [NoodleNode, NoodleNode, NoodleNode]
    await imageAndAudio(a, [b, c], { img: [0.1, 0.6, 0.2, 0.1], snd: [0.1, 0.5, 0.3, 0.1] })
    await healthy(b, 'img', 1)
    await healthy(b, 'snd', 1)

    // the task is in a's graph; b finds it with a mesh query once the catalog has it
    const answer = await waitFor(async () => await engine(b).fuse('digits', [
      { modality: 'image', mediaType: 'image/png', data: bytes('png') },
      { modality: 'audio', mediaType: 'audio/wav', data: bytes('wav') }
    ]), { what: 'a fusion from the other daemon' })
    expect(answer.label).to.equal('1')
    expect(answer.rule).to.equal('sum')
    // sum of the two, halved: [0.1, 0.55, 0.25, 0.1]
    expect(answer.scores['1']).to.be.closeTo(0.55, 1e-6)
    expect(answer.partial).to.equal(false)
    expect(answer.processors.map(p => [p.processor, p.status, p.instance])).to.deep.equal([
      ['image-lr', 'ok', b.peerId.toString()],
      ['audio-mfcc', 'ok', c.peerId.toString()]
    ])

    // one modality alone: the other's processor is missing, and the answer says it is partial
    const one = await engine(b).fuse('digits', [{ modality: 'audio', mediaType: 'audio/wav', data: bytes('wav') }], { rule: 'product' })
    expect(one.partial).to.equal(true)
    expect(one.processors.find(p => p.processor === 'image-lr')!.status).to.equal('missing')
    expect(one.label).to.equal('1')

    // provenance: explained at once, and in the graph as PROV-O once written
    const record = await engine(b).explain(answer.id)
    expect(record!.processors.map(p => p.status)).to.deep.equal(['ok', 'ok'])
    await engine(b).flush()
    const q = await b.services.knowledge!.query(`PREFIX prov: <http://www.w3.org/ns/prov#>
      SELECT ?label ?status WHERE { <urn:noodle:fusion:${answer.id}> prov:generated ?r ; prov:wasInformedBy ?call . ?r <urn:noodle:vocab:label> ?label . ?call <urn:noodle:vocab:status> ?status }`)
    expect((q as any).bindings.map((r: any) => [r.label.value, r.status.value])).to.deep.equal([['1', 'ok'], ['1', 'ok']])
    expect((await engine(b).explain(answer.id))!.label).to.equal('1')
    expect(engine(b).stats()).to.include({ fusions: 2, partial: 1, deadlineMissed: 0 })
  })

  it('a processor that hangs, fails or answers malformed scores gives a partial answer that says which and why', async () => {
    const [a, b] = await mesh(2) as [NoodleNode, NoodleNode]
    const svc = await processors({ good: [0.7, 0.1, 0.1, 0.1], stuck: 'hang', broken: 'fail', noisy: 'garbage' })
    servers.push(svc.server)
    for (const name of ['good', 'stuck', 'broken', 'noisy']) await b.services.registry.register({ name, endpoint: svc.url(name) })
    await digitsTask(a)
    await engine(a).registerProcessor({ name: 'good', task: 'digits', service: 'good', modality: 'image', mediaTypes: ['image/png'], calibrated: true })
    for (const name of ['stuck', 'broken', 'noisy']) await engine(a).registerProcessor({ name, task: 'digits', service: name, modality: 'audio', mediaTypes: ['audio/wav'], calibrated: true })
    for (const name of ['good', 'stuck', 'broken', 'noisy']) await healthy(a, name, 1)

    const answer = await engine(a).fuse('digits', [
      { modality: 'image', mediaType: 'image/png', data: bytes('png') },
      { modality: 'audio', mediaType: 'audio/wav', data: bytes('wav') }
    ], { deadlineMs: 300 })
    expect(answer.label).to.equal('0')
    expect(answer.partial).to.equal(true)
    const by = Object.fromEntries(answer.processors.map(p => [p.processor, p]))
    expect(by.good!.status).to.equal('ok')
    expect(by.stuck!.status).to.equal('timeout')
    expect(by.broken!.status).to.equal('error')
    expect(by.broken!.error).to.match(/ModelError: weights missing/)
    expect(by.noisy!.status).to.equal('error')
    expect(by.noisy!.error).to.match(/MalformedMessageError: score 1 is not a finite number/)
    // the hung call was cancelled at the deadline, and the endpoint saw it go
    await waitFor(() => svc.aborted.includes('stuck'), { what: 'the hung request to be closed' })

    // nothing answered at all: no label, and still an answer by the deadline
    await engine(a).registerProcessor({ name: 'good', task: 'digits', service: 'stuck', modality: 'image', mediaTypes: ['image/png'], calibrated: true })
    const none = await engine(a).fuse('digits', [{ modality: 'image', mediaType: 'image/png', data: bytes('png') }], { deadlineMs: 200 })
    expect(none.label).to.equal(null)
    expect(none.partial).to.equal(true)
  })

  it('hedges a call slower than the processor\'s p95 to another instance and cancels the loser on its callee', async () => {
    const [a, b, c] = await mesh(3) as [NoodleNode, NoodleNode, NoodleNode]
    const slow = await processors({ img: { delayMs: 2_000, scores: [0, 0, 0, 1] } })
    const fast = await processors({ img: [0, 1, 0, 0] })
    servers.push(slow.server, fast.server)
    await b.services.registry.register({ name: 'img', endpoint: slow.url('img') })
    await c.services.registry.register({ name: 'img', endpoint: fast.url('img') })
    await digitsTask(a, { deadlineMs: 1_000 })
    await engine(a).registerProcessor({ name: 'image-lr', task: 'digits', service: 'img', modality: 'image', mediaTypes: ['image/png'], calibrated: true, latencyP95Ms: 30 })
    await healthy(a, 'img', 2)

    // the balancer picks either instance first; fuse until the slow one was picked and hedged
    const hedged = await waitFor(async () => {
      const answer = await engine(a).fuse('digits', [{ modality: 'image', mediaType: 'image/png', data: bytes('png') }])
      return answer.processors[0]!.answeredBy === 'hedge' ? answer : undefined
    }, { what: 'a fusion whose first call went to the slow instance' })
    expect(hedged.label).to.equal('1')
    expect(hedged.partial).to.equal(false)
    expect(hedged.processors[0]).to.include({ status: 'ok', hedged: true, instance: c.peerId.toString() })
    // the loser was cancelled: its daemon heard the cancel frame and closed the request to the endpoint
    await waitFor(() => slow.aborted.length >= 1, { what: 'the slow endpoint to see its request closed' })
    await waitFor(() => b.services.rpc.stats().server.cancelled >= 1, { what: 'the cancel counted on the callee' })
    expect(engine(a).stats().hedgeWins).to.be.at.least(1)

    // with hedging off the same call waits for the slow instance, up to the deadline
    const unhedged = await waitFor(async () => {
      const answer = await engine(a).fuse('digits', [{ modality: 'image', mediaType: 'image/png', data: bytes('png') }], { hedge: false, deadlineMs: 300 })
      return answer.processors[0]!.status === 'timeout' ? answer : undefined
    }, { what: 'an unhedged fusion on the slow instance' })
    expect(unhedged.label).to.equal(null)
  })

  it('context from the knowledge graph: a prior from the codes the graph holds decides what the processors cannot', async () => {
    const [a] = await mesh(1) as [NoodleNode]
    // the image processor cannot tell 1 from 2; the graph knows the codes 301 and 302 and 113
    const svc = await processors({ img: [0.05, 0.45, 0.45, 0.05] })
    servers.push(svc.server)
    await a.services.registry.register({ name: 'img', endpoint: svc.url('img') })
    await a.services.knowledge!.store.add('codes', '<urn:code:1> <urn:vocab:code> "301" .\n<urn:code:2> <urn:vocab:code> "113" .\n', { format: 'ntriples' })
    await digitsTask(a, {
      modalities: ['image'],
      context: {
        // the digit that follows $previous in a known code
        query: 'SELECT ?label WHERE { ?c <urn:vocab:code> ?code . FILTER(STRSTARTS(?code, $previous) && STRLEN(?code) > STRLEN($previous)) BIND(SUBSTR(?code, STRLEN($previous) + 1, 1) AS ?label) }'
      }
    })
    await engine(a).registerProcessor({ name: 'image-lr', task: 'digits', service: 'img', modality: 'image', mediaTypes: ['image/png'], calibrated: true })
    await healthy(a, 'img', 1)
    const png = [{ modality: 'image', mediaType: 'image/png', data: bytes('png') }]
    // the session has read "3" and "0" (given by answers the processor could not decide: seeded by hand here)
    const session = 'card-17'
    ;(engine(a) as any).remember(session, '3')
    ;(engine(a) as any).remember(session, '0')
    const withContext = await engine(a).fuse('digits', png, { context: session })
    expect(withContext.context).to.include({ id: session, previous: '30', status: 'ok' })
    expect(withContext.label).to.equal('1')
    expect(withContext.scores['1']).to.be.greaterThan(withContext.scores['2']!)
    // the ablation: the same input, context switched off, is a tie the processor cannot break
    ;(engine(a) as any).sessions.delete('card-18')
    ;(engine(a) as any).remember('card-18', '3')
    ;(engine(a) as any).remember('card-18', '0')
    const without = await engine(a).fuse('digits', png, { context: 'card-18', useContext: false })
    expect(without.scores['1']).to.equal(without.scores['2'])
    expect(without.context!.status).to.equal('off')
    // a fresh session's prior is the codes' first digits; one no code continues is empty, not an error
    const fresh = await engine(a).fuse('digits', png, { context: 'fresh' })
    expect(fresh.context).to.include({ previous: '', status: 'ok' })
    ;(engine(a) as any).remember('card-19', '9')
    const unknown = await engine(a).fuse('digits', png, { context: 'card-19' })
    expect(unknown.context).to.include({ previous: '9', status: 'empty' })
  })

  it('a fusion ready only after its deadline fails with DeadlineExceededError: never a late answer, not recorded', async () => {
    const [a] = await mesh(1) as [NoodleNode]
    // the image processor stalls the whole process past the deadline before it answers
    await imageAndAudio(a, [a, a], { img: { blockMs: 80, scores: [0.1, 0.7, 0.1, 0.1] }, snd: [0.1, 0.7, 0.1, 0.1] })
    await healthy(a, 'img', 1)
    const input = [{ modality: 'image', mediaType: 'image/png', data: bytes('png') }]
    const late = await rejection(engine(a).fuse('digits', input, { deadlineMs: 30 }))
    expect(late.name).to.equal('DeadlineExceededError')
    expect(late.message).to.match(/ready [\d.]+ ms after its 30 ms deadline/)
    expect(engine(a).stats()).to.include({ fusions: 0, deadlineMissed: 1, recorded: 0 })
    // with time to spare the same stall is answered
    const answer = await engine(a).fuse('digits', [{ modality: 'audio', mediaType: 'audio/wav', data: bytes('wav') }], { deadlineMs: 2_000 })
    expect(answer.label).to.equal('1')
    expect(engine(a).stats()).to.include({ fusions: 1, deadlineMissed: 1 })
  })

  it('bad input gets a named error: unknown task, modality without processor, oversized input, wrong media type, bad task or descriptor', async () => {
    const [a] = await mesh(1) as [NoodleNode]
    await digitsTask(a, { maxInputBytes: 16 })
    await engine(a).registerProcessor({ name: 'image-lr', task: 'digits', service: 'img', modality: 'image', mediaTypes: ['image/png'], calibrated: true })
    const png = (n: number): Array<{ modality: string, mediaType: string, data: Uint8Array }> => [{ modality: 'image', mediaType: 'image/png', data: new Uint8Array(n) }]
    expect((await rejection(engine(a).fuse('nope', png(1)))).name).to.equal('TaskNotFoundError')
    expect((await rejection(engine(a).fuse('digits', [{ modality: 'audio', mediaType: 'audio/wav', data: bytes('x') }]))).name).to.equal('NoProcessorError')
    expect((await rejection(engine(a).fuse('digits', [{ modality: 'smell', mediaType: 'x/y', data: bytes('x') }]))).name).to.equal('NoProcessorError')
    expect((await rejection(engine(a).fuse('digits', png(17)))).name).to.equal('PayloadTooLargeError')
    expect((await rejection(engine(a).fuse('digits', [{ modality: 'image', mediaType: 'image/jpeg', data: bytes('x') }]))).name).to.equal('UnsupportedMediaTypeError')
    expect((await rejection(engine(a).fuse('digits', png(1), { rule: 'vibes' }))).message).to.match(/unknown fusion rule "vibes"/)
    expect((await rejection(engine(a).fuse('digits', png(1), { rule: 'stacker' }))).message).to.match(/calibrate the task first/)
    expect((await rejection(engine(a).fuse('digits', []))).name).to.equal('InvalidRequestError')
    expect((await rejection(engine(a).fuse('digits', png(1), { deadlineMs: 5 }))).message).to.match(/a deadline is 10-60000 ms/)
    // a daemon whose fusions have been ending far past their cut-off refuses rather than answer late
    const e = engine(a) as any
    e.lagMean = 300 // past half the 400 ms deadline, on average
    e.lagAt = performance.now()
    const shed = await rejection(engine(a).fuse('digits', png(1), { deadlineMs: 400 }))
    expect(shed.name).to.equal('OverloadedError')
    expect(engine(a).stats().shed).to.equal(1)
    // the estimate halves every 250 ms without news: seconds later the same call is taken (and answered
    // without a label: its processor's service is nowhere)
    e.lagAt = performance.now() - 5_000
    const taken = await engine(a).fuse('digits', png(1), { deadlineMs: 400 })
    expect(taken.label).to.equal(null)
    // (not found: an error, or a timeout while the DHT is still asked)
    expect(taken.processors[0]!.status).to.be.oneOf(['error', 'timeout'])
    expect((await rejection(engine(a).defineTask({ name: 'Bad Name', labels: ['a', 'b'], modalities: ['image'] }))).message).to.match(/task name/)
    expect((await rejection(engine(a).defineTask({ name: 'dup', labels: ['a', 'a'], modalities: ['image'] }))).message).to.match(/distinct/)
    expect((await rejection(engine(a).registerProcessor({ name: 'x', task: 'digits', service: 's', modality: 'smell', mediaTypes: ['x/y'], calibrated: true }))).message).to.match(/no modality "smell"/)
    expect((await rejection(engine(a).registerProcessor({ name: 'x', task: 'nope', service: 's', modality: 'image', mediaTypes: ['image/png'], calibrated: true }))).name).to.equal('TaskNotFoundError')
    expect((await rejection(engine(a).registerProcessor({ name: 'x', task: 'digits', service: 's', modality: 'image', mediaTypes: ['png'], calibrated: true }))).name).to.equal('InvalidRequestError')
  })
})
