import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { concat } from 'uint8arrays/concat'
import { equals } from 'uint8arrays/equals'
import type { ModuleFetchProgressView } from '../../lib/interface/api.js'
import { FrameSender, onFrames } from '../../lib/frames.js'
import { BlockStatus, MAX_PIPELINE, MAX_REQUEST_BYTES, decodeRequest, encodeRequest, encodeResponse } from '../../lib/modules/block-protocol.js'
import { packModule } from '../../lib/modules/content.js'
import { parseManifest } from '../../lib/modules/manifest.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { rejection } from '../utils/rejection.js'
import { waitFor } from '../utils/wait-for.js'
import { ECHO_WASM, paddedWasm } from './fixtures.js'

const BLOCKS = '/noodle/blocks/1.0.0'
const manifest = (name: string, version: string, dependencies: Record<string, string> = {}): Record<string, unknown> => ({ name, version, entry: 'm.wasm', exports: ['echo'], dependencies })

/** Wait until `node` finds `provider` on the DHT for `cid`. */
async function providedBy (node: NoodleNode, cid: string, provider: NoodleNode): Promise<void> {
  await waitFor(async () => (await node.services.modules.providers(cid, { signal: AbortSignal.timeout(5_000) })).includes(provider.peerId.toString()), { what: `${provider.peerId.toString()} to be found as a provider of ${cid}` })
}

/**
 * Make `node` answer block requests with bytes that do not hash to what
 * was asked: a rotten or hostile provider, as the asker sees it.
 */
async function serveGarbage (node: NoodleNode): Promise<void> {
  await node.unhandle(BLOCKS)
  await node.handle(BLOCKS, (stream) => {
    const sender = new FrameSender(stream)
    onFrames(stream, MAX_REQUEST_BYTES, (bytes) => {
      decodeRequest(bytes)
      sender.send(encodeResponse({ status: BlockStatus.BLOCK, bytes: new TextEncoder().encode('not the block you asked for') }))
    }, () => {})
  })
}

/**
 * Make `node` answer honestly for blocks it holds, except that a chunk it
 * sends along with its root (WITH_LINK) is garbage.
 */
async function serveBadChunkAlong (node: NoodleNode): Promise<void> {
  await node.unhandle(BLOCKS)
  await node.handle(BLOCKS, (stream) => {
    const sender = new FrameSender(stream)
    onFrames(stream, MAX_REQUEST_BYTES, (bytes) => {
      const { cid, withLink } = decodeRequest(bytes)
      void node.services.modules.store.getBlock(cid).then((block) => {
        sender.send(encodeResponse({ status: BlockStatus.BLOCK, bytes: block }))
        if (withLink) sender.send(encodeResponse({ status: BlockStatus.BLOCK, bytes: new TextEncoder().encode('a chunk that is not the one linked') }))
      })
    }, () => {})
  })
}

/**
 * Make `node` take block requests and never answer them: a provider on a
 * starved host, as the asker sees it (its stream open, nothing coming back).
 */
async function serveNothing (node: NoodleNode): Promise<void> {
  await node.unhandle(BLOCKS)
  await node.handle(BLOCKS, (stream) => {
    onFrames(stream, MAX_REQUEST_BYTES, (bytes) => { decodeRequest(bytes) }, () => {})
  })
}

/** `publisher` publishes a 600 kB module `name`@1.0.0 and then answers no block request; `holder` holds a copy. */
async function publishThenStall (publisher: NoodleNode, holder: NoodleNode, name: string, seed: number): Promise<{ cid: string }> {
  const wasm = paddedWasm(600 * 1024, seed)
  const published = await publisher.services.modules.publish(manifest(name, '1.0.0'), wasm)
  await serveNothing(publisher)
  await holder.services.modules.store.add(await packModule(parseManifest(manifest(name, '1.0.0')), wasm))
  return published
}

describe('module fetch from peers (in-process meshes)', function () {
  this.timeout(90_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('fetches a module of several blocks and its dependency from their publishers, verified, pinned, with progress, and then serves it', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const big = paddedWasm(2.5 * 1024 * 1024, 7)
    const dep = await a.services.modules.publish(manifest('dep', '1.2.0'), big)
    const app = await b.services.modules.publish(manifest('app', '1.0.0', { dep: '^1.0.0' }), ECHO_WASM)
    await waitFor(() => c.services.modules.catalog.get('app', '1.0.0') != null && c.services.modules.catalog.get('dep', '1.2.0') != null, { what: 'c to hear of both versions' })

    const progress: ModuleFetchProgressView[] = []
    const result = await c.services.modules.fetch('app@^1', { onProgress: p => { progress.push(p) } })
    expect(result.root).to.equal(app.cid)
    expect(result.modules.map(m => `${m.name}@${m.version}`)).to.deep.equal(['dep@1.2.0', 'app@1.0.0'])
    expect(result.modules[0]).to.include({ cid: dep.cid, blocks: 4, fetchedBlocks: 4, pinned: true })
    expect(result.modules[0]!.providers.filter(p => p.outcome === 'served').map(p => p.peerId)).to.include(a.peerId.toString())
    expect(result.fetchedBytes).to.be.greaterThan(big.byteLength)
    // progress counts up to the whole of each module
    const depProgress = progress.filter(p => p.cid === dep.cid)
    expect(depProgress.at(-1)).to.include({ index: 1, count: 2, blocksDone: 4, blocksTotal: 4 })
    expect(depProgress.at(-1)!.bytesDone).to.equal(depProgress.at(-1)!.bytesTotal)

    // the bytes on c are the published ones, every block verified on the way in
    const read = await c.services.modules.store.read(CID.parse(dep.cid))
    expect(equals(read.wasm, big)).to.equal(true)
    expect((await c.services.modules.list()).filter(m => m.pinned).map(m => m.name).sort()).to.deep.equal(['app', 'dep'])

    // a second fetch finds everything here
    const again = await c.services.modules.fetch('app@1.0.0')
    expect(again.modules.map(m => m.fetchedBlocks)).to.deep.equal([0, 0])

    // c now offers what it fetched
    await providedBy(a, app.cid, c)
  })

  it('drops and penalises a provider that serves bad bytes and completes the fetch from another', async () => {
    // c first: the others bootstrap from it, so it is connected to both
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [c, x, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const wasm = paddedWasm(1.5 * 1024 * 1024, 3)
    // x publishes (so the DHT names it as the provider) and then serves garbage
    const published = await x.services.modules.publish(manifest('victim', '1.0.0'), wasm)
    await serveGarbage(x)
    // b holds a good copy without announcing it: only asking neighbours finds it
    await b.services.modules.store.add(await packModule(parseManifest(manifest('victim', '1.0.0')), wasm))
    await providedBy(c, published.cid, x)

    const result = await c.services.modules.fetch(published.cid)
    const byPeer = Object.fromEntries(result.modules[0]!.providers.map(p => [p.peerId, p]))
    expect(byPeer[x.peerId.toString()]).to.include({ outcome: 'bad-block', blocks: 0 })
    expect(byPeer[b.peerId.toString()]).to.include({ outcome: 'served' })
    expect(result.modules[0]).to.include({ fetchedBlocks: 3, blocks: 3 })
    expect(c.services.modules.penalties.isPenalised(x.peerId.toString())).to.equal(true)

    // the next fetch passes x over without asking it; with b gone, nobody serves
    await c.services.modules.unpin(published.cid)
    await c.services.modules.gc()
    await b.stop()
    const err = await rejection(c.services.modules.fetch(published.cid))
    expect(err.name).to.equal('BlockUnavailableError')
    expect(err.message).to.include(`${x.peerId.toString()} penalised`)
  })

  it('a provider that sits on a block is hedged: another is asked beside it, without waiting out the block timeout', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [c, x, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    // x publishes (the catalog names it, so it is asked first) and then answers nothing
    const published = await publishThenStall(x, b, 'stuck', 7)
    await providedBy(c, published.cid, x)

    const result = await c.services.modules.fetch(published.cid)
    const byPeer = Object.fromEntries(result.modules[0]!.providers.map(p => [p.peerId, p]))
    // without hedging x is dropped only after BLOCK_TIMEOUT_MS (20 s), as 'timeout'; here the fetch ends first, from b
    expect(byPeer[x.peerId.toString()]).to.include({ blocks: 0 })
    expect(byPeer[x.peerId.toString()]!.outcome).to.not.equal('timeout')
    expect(byPeer[b.peerId.toString()]).to.include({ outcome: 'served' })
    expect(result.modules[0]).to.include({ blocks: result.modules[0]!.fetchedBlocks })
    expect((await c.services.modules.store.read(CID.parse(published.cid))).manifest.name).to.equal('stuck')
    // and x, asked for blocks it never sent, is not penalised: slow is not dishonest
    expect(c.services.modules.penalties.isPenalised(x.peerId.toString())).to.equal(false)
  })

  it('asks the peers it is told hold the module (a service\'s running replicas) before its publisher', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [c, x, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    // x publishes (so it would be asked first) and then answers nothing; b holds a copy
    const published = await publishThenStall(x, b, 'held', 9)
    await waitFor(() => c.services.modules.catalog.get('held', '1.0.0') != null, { what: 'c to hear of the version' })

    const result = await c.services.modules.fetch('held@1.0.0', { likelyHolders: [c.peerId, b.peerId] })
    const reports = result.modules[0]!.providers
    // b served everything, alone: the publisher was never needed, so never asked (nor was c itself)
    expect(reports.map(p => p.peerId)).to.deep.equal([b.peerId.toString()])
    expect(reports[0]).to.include({ outcome: 'served', blocks: result.modules[0]!.fetchedBlocks })
    expect((await c.services.modules.store.read(CID.parse(published.cid))).manifest.name).to.equal('held')
  })

  it('a provider whose root is good but whose chunk sent along with it is bad is dropped, and the chunk comes from another', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [c, x, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const published = await x.services.modules.publish(manifest('small', '1.0.0'), paddedWasm(200 * 1024, 5))
    await serveBadChunkAlong(x)
    await b.services.modules.store.add(await packModule(parseManifest(manifest('small', '1.0.0')), paddedWasm(200 * 1024, 5)))
    await providedBy(c, published.cid, x)

    const result = await c.services.modules.fetch(published.cid)
    const byPeer = Object.fromEntries(result.modules[0]!.providers.map(p => [p.peerId, p]))
    // x's root was kept (it verified); its chunk was not
    expect(byPeer[x.peerId.toString()]).to.include({ outcome: 'bad-block', blocks: 1 })
    expect(byPeer[b.peerId.toString()]).to.include({ outcome: 'served', blocks: 1 })
    expect(result.modules[0]).to.include({ blocks: 2, fetchedBlocks: 2 })
    expect((await c.services.modules.store.read(CID.parse(published.cid))).manifest.name).to.equal('small')
  })

  it('a round that ends with a provider busy is followed by another, which takes the module from a member that came to hold it meanwhile', async () => {
    nodes = await startMesh(3)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [c, x, b] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const wasm = paddedWasm(600 * 1024, 11)
    const published = await x.services.modules.publish(manifest('later', '1.0.0'), wasm)
    await waitFor(() => c.services.modules.catalog.get('later', '1.0.0') != null, { what: 'c to hear of the version' })
    // the publisher opens no block stream (as one too busy to), and b does not hold the module yet
    await x.unhandle(BLOCKS)
    const fetching = c.services.modules.fetch(published.cid)
    await waitFor(() => b.services.modules.blockServer.counters.notHere > 0, { what: 'b to be asked, and to lack it' })
    await b.services.modules.store.add(await packModule(parseManifest(manifest('later', '1.0.0')), wasm))

    const result = await fetching
    const outcomes = (peer: NoodleNode): Array<string | undefined> => result.modules[0]!.providers.filter(p => p.peerId === peer.peerId.toString()).map(p => p.outcome)
    expect(outcomes(x)).to.include('unreachable')
    expect(outcomes(b)).to.include.members(['lacks-blocks', 'served'])
    expect((await c.services.modules.store.read(CID.parse(published.cid))).manifest.name).to.equal('later')
  })

  it('an unknown CID or name is a clear error, and nothing is kept', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a] = nodes as [NoodleNode, NoodleNode]
    const unknown = (await packModule(parseManifest(manifest('nobody', '1.0.0')), ECHO_WASM)).root.toString()
    const err = await rejection(a.services.modules.fetch(unknown))
    expect(err.name).to.equal('BlockUnavailableError')
    expect(err.message).to.match(new RegExp(`no peer served block ${unknown}: asked 1: \\S+ lacks-blocks`))
    const byName = await rejection(a.services.modules.fetch('nobody@^1'))
    expect(byName.name).to.equal('ModuleNotFoundError')
    expect(await a.services.modules.list()).to.deep.equal([])
  })

  it('a malformed or flooding block request costs the asker its stream, and the server goes on serving', async () => {
    nodes = await startMesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const published = await a.services.modules.publish(manifest('solid', '1.0.0'), ECHO_WASM)
    const server = a.services.modules.blockServer
    const closed = async (send: (stream: Awaited<ReturnType<NoodleNode['dialProtocol']>>) => void): Promise<void> => {
      const stream = await b.dialProtocol(a.peerId, BLOCKS)
      const ended = new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
      send(stream)
      await ended
    }
    // not a CID
    await closed(s => { s.send(Uint8Array.of(5, 1, 2, 3, 4, 5)) })
    // a length prefix larger than any request: refused before the bytes arrive
    await closed(s => { s.send(Uint8Array.of(0xff, 0xff, 0x03)) })
    // far more unanswered requests than a stream may hold
    await closed(s => { s.send(concat(Array.from({ length: MAX_PIPELINE * 3 }, () => encodeRequest(CID.parse(published.cid)).subarray()))) })
    expect(server.counters.refusedStreams).to.equal(3)

    // an honest fetch from the same peer still works
    const result = await b.services.modules.fetch(published.cid)
    expect(result.modules[0]).to.include({ fetchedBlocks: 2, blocks: 2, cid: published.cid })
    expect(server.counters.served).to.be.greaterThan(0)
  })
})
