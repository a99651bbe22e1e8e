import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import fc from 'fast-check'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { concat, json, mutated, runs } from './harness.js'

const echoDir = fileURLToPath(new URL('../../../examples/modules/echo', import.meta.url))
const varint = (n: number): Uint8Array => { const out: number[] = []; while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7 } out.push(n); return Uint8Array.from(out) }
const lp = (b: Uint8Array): Uint8Array => concat(varint(b.length), b)

/**
 * Hostile peers, end to end: a member opens a stream on every protocol the
 * target speaks and sends random and mutated frames (and publishes garbage
 * on every topic it subscribes to); the target must go on serving: mesh
 * calls answered, membership intact, memory bounded.
 */
describe('fuzz: every protocol and topic of a live node', function () {
  this.timeout(300_000)
  let nodes: NoodleNode[] = []
  after(async () => { await stopAll(nodes) })

  it('survives random and mutated streams on each protocol and garbage on each topic, and still serves', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const { manifest, wasm } = await readModuleDir(echoDir)
    await a.services.modules.publish(manifest, wasm)
    await a.services.registry.deploy({ name: 'fz', replicas: 1, module: 'echo@^1' })
    await waitFor(async () => a.services.runtime.statusOf('fz')?.state === 'running' || b.services.runtime.statusOf('fz')?.state === 'running', { timeoutMs: 30_000, what: 'fz to run' })
    const call = async (): Promise<string> => new TextDecoder().decode((await b.services.rpc.call('fz', 'echo', new TextEncoder().encode('still here'))).payload)
    expect(await call()).to.equal('still here')

    const samples = [
      lp(json({ type: 'ping', nonce: 1 })), lp(json({ digest: { web: '1/x' } })), lp(json({ have: [] })), lp(json({ service: 'fz' })),
      lp(json({ v: 1, type: 'advert' })), Uint8Array.of(0x0a, 0x04, 0x65, 0x63, 0x68, 0x6f), lp(Uint8Array.of(0x01, 0x71, 0x12, 0x20)),
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), new Uint8Array(0)
    ]
    const protocols = a.getProtocols()
    expect(protocols.length).to.be.greaterThan(8)
    const heapBefore = process.memoryUsage().heapUsed
    const perProtocol = Math.max(4, Math.floor(runs(150) / 20))
    const inputs = fc.sample(fc.oneof(mutated(samples), fc.uint8Array({ maxLength: 2048 })), { numRuns: perProtocol * protocols.length, ...(Number.isInteger(Number(process.env.FUZZ_SEED)) ? { seed: Number(process.env.FUZZ_SEED) } : {}) })
    let opened = 0
    for (const [i, protocol] of protocols.flatMap(p => Array<string>(perProtocol).fill(p)).entries()) {
      try {
        const stream = await b.dialProtocol(a.peerId, protocol, { signal: AbortSignal.timeout(5_000) })
        opened++
        stream.send(inputs[i]!)
        // half the time hang up at once, half the time leave the other side to decide
        if (i % 2 === 0) await stream.close({ signal: AbortSignal.timeout(2_000) }).catch(() => {})
        else stream.abort(new Error('fuzz'))
      } catch {}
    }
    expect(opened).to.be.greaterThan(protocols.length)

    const topics = a.services.pubsub.getTopics()
    expect(topics.length).to.be.greaterThan(2)
    for (const [i, bytes] of fc.sample(fc.oneof(mutated(samples), fc.uint8Array({ maxLength: 4096 })), perProtocol * topics.length).entries()) {
      await b.services.pubsub.publish(topics[i % topics.length]!, bytes).catch(() => {})
    }

    // still serving, still a member, nobody marked failed
    await waitFor(async () => (await call().catch(() => '')) === 'still here', { timeoutMs: 20_000, what: 'a mesh call after the fuzzing' })
    expect(a.services.membership.members().find(m => m.peerId === b.peerId.toString())?.status).to.equal('alive')
    expect(b.services.membership.members().find(m => m.peerId === a.peerId.toString())?.status).to.equal('alive')
    const grown = process.memoryUsage().heapUsed - heapBefore
    expect(grown, `heap grew by ${Math.round(grown / 1e6)} MB`).to.be.lessThan(256 * 1024 * 1024)
  })
})
