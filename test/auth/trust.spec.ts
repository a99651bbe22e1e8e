import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { DEFAULT_POLICY } from '../../lib/runtime/index.js'
import { UntrustedModuleError } from '../../lib/interface/errors.js'
import { converged, localNode, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

const example = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))

describe('module trust (trusted publishers)', function () {
  this.timeout(90_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('a node trusting only another publisher refuses the module at deploy and, as an owner, never runs it; a trusting node runs it', async () => {
    const a = await localNode()
    const bootstrap = [a.getMultiaddrs()[0]!.toString()]
    // b trusts only a; c trusts only b
    const b = await localNode({ bootstrap, runtime: { policy: { ...DEFAULT_POLICY, trustedPublishers: [a.peerId.toString()] } } })
    const c = await localNode({ bootstrap, runtime: { policy: { ...DEFAULT_POLICY, trustedPublishers: [b.peerId.toString()] } } })
    nodes = [a, b, c]
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const { manifest, wasm } = await readModuleDir(example('echo'))
    await a.services.modules.publish(manifest, wasm)
    await waitFor(() => nodes.every(n => n.services.modules.catalog.all().length === 1), { what: 'the catalog on every node' })

    // c's own deploy is refused, naming the module and its publisher
    const err = await c.services.registry.deploy({ name: 'echo-svc', replicas: 3, module: 'echo@^1' }).then(() => undefined, (e: Error) => e)
    expect(err).to.be.instanceOf(UntrustedModuleError)
    expect(err!.message).to.include(`echo@1.0.0 is published by ${a.peerId.toString()}`)

    // deployed from b (which trusts a) on all three: a and b run it, c refuses it with the reason
    await b.services.registry.deploy({ name: 'echo-svc', replicas: 3, module: 'echo@^1' })
    await waitFor(() => [a, b].every(n => n.services.runtime.status().some(s => s.service === 'echo-svc' && s.state === 'running')), { timeoutMs: 30_000, what: 'a and b to run it' })
    const refused = await waitFor(() => c.services.runtime.status().find(s => s.service === 'echo-svc' && s.error != null), { timeoutMs: 30_000, what: 'c to refuse it' })
    expect(refused.state).to.equal('failed')
    expect(refused.error).to.match(/UntrustedModuleError: echo@1\.0\.0 is published by .* which this node's policy does not trust/)
  })
})
