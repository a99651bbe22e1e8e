import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { expect } from 'chai'
import { didFromPublicKey } from '../../lib/auth/did.js'
import { UnauthorizedError } from '../../lib/interface/errors.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, localNode, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

/**
 * A secure mesh in one process: node 0 holds the operator key, the others
 * trust it. Mesh-wide writes carry invocations; every node checks them.
 */
describe('capability tokens on mesh operations (in-process mesh)', function () {
  this.timeout(90_000)
  let nodes: NoodleNode[] = []
  let operatorKey: PrivateKey
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  async function secureMesh (n: number): Promise<NoodleNode[]> {
    operatorKey = await generateKeyPair('Ed25519')
    const operators = [didFromPublicKey(operatorKey.publicKey.raw)]
    const first = await localNode({ auth: { operators, operatorKey } })
    const bootstrap = [first.getMultiaddrs()[0]!.toString()]
    const rest = await Promise.all(Array.from({ length: n - 1 }, async () => localNode({ bootstrap, auth: { operators } })))
    nodes = [first, ...rest]
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    return nodes
  }

  it('refuses a deploy from a node without a token, lets a delegated one deploy within its scope, and audits both', async () => {
    const [op, a, b] = await secureMesh(3)
    // the operator's machine deploys; everyone verifies and takes it
    await op!.services.registry.deploy({ name: 'web', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('web')), { what: 'the operator\'s deploy everywhere' })

    // a holds nothing: refused locally, nothing written
    await expect(a!.services.registry.deploy({ name: 'api', replicas: 1 })).to.be.rejectedWith(UnauthorizedError, /holds no token for service\/deploy on svc:api/)
    expect(a!.services.registry.catalog.has('api')).to.equal(false)

    // delegated: deploys under web*, not elsewhere, and cannot remove
    const { token } = await op!.services.auth.delegate({ to: a!.peerId.toString(), can: 'service/deploy', with: 'svc:web*' })
    await a!.services.auth.add(token)
    await a!.services.registry.deploy({ name: 'web-2', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('web-2')), { what: 'the delegated deploy everywhere' })
    await expect(a!.services.registry.deploy({ name: 'db', replicas: 1 })).to.be.rejectedWith(UnauthorizedError)
    await expect(a!.services.registry.remove('web')).to.be.rejectedWith(UnauthorizedError, /service\/remove/)

    // a forged write (no invocation, as a node without auth would send) is refused by every receiver
    const forged = { name: 'evil', version: 1_000, author: b!.peerId.toString(), updatedAt: Date.now(), deleted: false, spec: { name: 'evil', replicas: 1 } }
    const result = await op!.services.registry.catalog.merge([forged])
    expect(result.unauthorized).to.equal(1)
    expect(op!.services.registry.catalog.has('evil')).to.equal(false)
    // a real invocation lifted onto another write is refused too
    const honest = a!.services.registry.catalog.all().find(e => e.name === 'web-2')!
    const lifted = { ...honest, name: 'web-3', spec: { ...honest.spec!, name: 'web-3' } }
    expect((await op!.services.registry.catalog.merge([lifted])).unauthorized).to.equal(1)

    // the token each local write used is on record
    const used = (await a!.services.auth.audit.list()).find(e => e.type === 'deploy' && e.detail.with === 'svc:web-2')
    expect(used?.detail.token).to.equal(a!.services.auth.authority.list().held[0]!.id)
    const audit = await op!.services.auth.audit.list()
    const denied = audit.filter(e => e.type === 'denied')
    expect(denied.map(e => e.detail.resource)).to.include.members(['svc:evil', 'svc:web-3'])
    expect(audit.filter(e => e.type === 'accepted').map(e => e.detail.service)).to.include('web-2')
    expect((await a!.services.auth.audit.list()).filter(e => e.type === 'denied' && e.detail.local === true).map(e => e.detail.resource)).to.include.members(['svc:api', 'svc:db', 'svc:web'])
    expect((await op!.services.auth.audit.verify()).ok).to.equal(true)
  })

  it('a revocation reaches every node and ends the token there', async () => {
    const [op, a, b] = await secureMesh(3)
    const { token, summary } = await op!.services.auth.delegate({ to: a!.peerId.toString(), can: 'service/*', with: 'svc:*' })
    await a!.services.auth.add(token)
    await a!.services.registry.deploy({ name: 'one', replicas: 1 })
    await waitFor(() => nodes.every(n => n.services.registry.catalog.has('one')), { what: 'a\'s deploy everywhere' })

    await op!.services.auth.revoke(summary.id)
    await waitFor(() => nodes.every(n => n.services.auth.authority.revocations().some(r => r.id === summary.id)), { what: 'the revocation on every node' })
    await expect(a!.services.registry.deploy({ name: 'two', replicas: 1 })).to.be.rejectedWith(UnauthorizedError)
    // what a signed before the revocation but had not sent is refused everywhere now
    expect(b!.services.auth.authority.list().revoked.map(r => r.id)).to.deep.equal([summary.id])
    const audit = await b!.services.auth.audit.list()
    expect(audit.some(e => e.type === 'revocation-received' && e.detail.id === summary.id)).to.equal(true)
  })

  it('module publishes need module/publish on the module', async () => {
    const [op, a] = await secureMesh(2)
    const { readFile } = await import('node:fs/promises')
    const wasm = await readFile(new URL('../../../examples/modules/echo/build/echo.wasm', import.meta.url))
    const manifest = JSON.parse(await readFile(new URL('../../../examples/modules/echo/noodle.json', import.meta.url), 'utf8'))
    await expect(a!.services.modules.publish(manifest, wasm)).to.be.rejectedWith(UnauthorizedError, /module\/publish on mod:echo/)
    expect(await a!.services.modules.list()).to.have.length(0)
    const { token } = await op!.services.auth.delegate({ to: a!.peerId.toString(), can: 'module/publish', with: 'mod:echo' })
    await a!.services.auth.add(token)
    await a!.services.modules.publish(manifest, wasm)
    await waitFor(() => op!.services.modules.catalog.get(manifest.name, manifest.version) != null, { what: 'the publish on the operator node' })
  })

  it('audits a change of operators or policy between two starts on the same datastore', async () => {
    const { MemoryDatastore } = await import('datastore-core')
    const datastore = new MemoryDatastore()
    const privateKey = await generateKeyPair('Ed25519')
    const first = await localNode({ datastore, privateKey, auth: { operators: [], policy: { http: [] } } })
    await first.stop()
    operatorKey = await generateKeyPair('Ed25519')
    const second = await localNode({ datastore, privateKey, auth: { operators: [didFromPublicKey(operatorKey.publicKey.raw)], policy: { http: ['*'] } } })
    nodes = [second]
    const entries = await second.services.auth.audit.list()
    expect(entries.map(e => e.type)).to.deep.equal(['start', 'start', 'key', 'policy'])
    expect(entries[2]!.detail).to.deep.include({ before: { did: second.services.auth.authority.did, operators: [], keys: {} } })
    expect(entries[3]!.detail).to.deep.equal({ policy: { http: ['*'] } })
    expect((await second.services.auth.audit.verify()).ok).to.equal(true)
  })
})
