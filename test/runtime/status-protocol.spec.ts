import { expect } from 'chai'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { fileURLToPath } from 'node:url'

const STATUS = '/noodle/runtime-status/1.0.0'
const echoDir = fileURLToPath(new URL('../../../examples/modules/echo', import.meta.url))

describe('runtime status protocol', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => { await stopAll(nodes); nodes = [] })

  it('answers what an owner runs; malformed, oversized and unknown requests cost the asker its stream and nothing else', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const { manifest, wasm } = await readModuleDir(echoDir)
    await a.services.modules.publish(manifest, wasm)
    await a.services.registry.deploy({ name: 'st', replicas: 2, module: 'echo@^1' })
    await waitFor(() => nodes.every(n => n.services.runtime.statusOf('st')?.state === 'running'), { timeoutMs: 30_000, what: 'both to run st' })

    const ended = async (bytes: Uint8Array): Promise<number> => {
      const stream = await b.dialProtocol(a.peerId, STATUS)
      let received = 0
      stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
      const closed = new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
      stream.send(bytes)
      await closed
      return received
    }
    const json = (v: unknown): Uint8Array => { const body = new TextEncoder().encode(JSON.stringify(v)); return Uint8Array.of(body.byteLength, ...body) }
    // not JSON; JSON of the wrong shape; a service name that is not one; a length prefix over the limit
    expect(await ended(Uint8Array.of(3, 1, 2, 3))).to.equal(0)
    expect(await ended(json({ service: 'st', extra: true }))).to.equal(0)
    expect(await ended(json({ service: '../../etc' }))).to.equal(0)
    expect(await ended(Uint8Array.of(0xff, 0xff, 0x03))).to.equal(0)

    // a service it does not run: null; one it runs: its view, as it says it
    const history = await b.services.runtime.history('st')
    expect(history).to.have.length(2)
    const fromA = history.find(h => h.peerId === a.peerId.toString())!
    expect(fromA.view).to.deep.include({ service: 'st', state: 'running', module: 'echo@1.0.0' })
    expect(fromA.view?.history.map(h => h.outcome)).to.deep.equal(['running'])
    expect(await b.services.runtime.history('nothing-here')).to.deep.equal([])
  })
})
