import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { op, wasmModule } from './wasm.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { converged, startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { createMetrics } from '../../daemon/metrics.js'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { tmpDir } from '../utils/tmp-repo.js'
import type { AddressInfo } from 'node:net'
import { DEFAULT_POLICY } from '../../lib/runtime/index.js'

const example = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('module-backed services (in-process meshes)', function () {
  this.timeout(90_000)
  let nodes: NoodleNode[] = []
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
    for (const c of cleanups.splice(0)) await c()
  })

  /** Owners of `service` whose runtime runs it. */
  const running = (service: string): NoodleNode[] => nodes.filter(n => n.services.runtime.status().some(s => s.service === service && s.state === 'running'))

  it('a deployed module service is fetched onto its owners, runs there in the sandbox, and answers mesh calls from any node; kv state lives with each owner', async () => {
    nodes = await startMesh(3, { runtime: { probationMs: 500 } })
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b, c] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    for (const name of ['echo', 'counter']) {
      const { manifest, wasm } = await readModuleDir(example(name))
      await a.services.modules.publish(manifest, wasm)
    }
    await waitFor(() => nodes.every(n => n.services.modules.catalog.all().length === 2), { what: 'the catalog on every node' })

    await b.services.registry.deploy({ name: 'echo-svc', replicas: 2, module: 'echo@^1' })
    await waitFor(() => running('echo-svc').length === 2, { timeoutMs: 30_000, what: 'two owners to run echo-svc' })
    const owners = running('echo-svc')
    const status = owners[0]!.services.runtime.status().find(s => s.service === 'echo-svc')!
    expect(status).to.deep.include({ ref: 'echo@^1', module: 'echo@1.0.0' })
    expect(status.grant).to.deep.include({ kv: false, log: false, call: [] })

    // every node, owner or not, reaches it
    for (const n of nodes) {
      const res = await n.services.rpc.call('echo-svc', 'echo', text(`from ${n.peerId.toString().slice(-4)}`))
      expect(str(res.payload)).to.equal(`from ${n.peerId.toString().slice(-4)}`)
    }
    // an owner fetched the module it did not publish, and pinned it
    const fetcher = owners.find(n => n !== a)
    if (fetcher != null) expect((await fetcher.services.modules.list()).find(m => m.name === 'echo')?.pinned).to.equal(true)

    // a new version whose health check traps is rolled back on every owner; one that passes replaces
    // the old; a steady stream of calls sees no failure through both
    const echoManifest = (await readModuleDir(example('echo'))).manifest
    const brokenWasm = wasmModule({ funcs: [{ name: 'echo', body: [op.i32(0)] }, { name: 'health', body: [op.unreachable] }] })
    await a.services.modules.publish({ ...echoManifest, version: '2.0.0', description: 'fails its health check' }, brokenWasm)
    await a.services.modules.publish({ ...echoManifest, version: '3.0.0' }, (await readModuleDir(example('echo'))).wasm)
    await waitFor(() => nodes.every(n => n.services.modules.catalog.all().length === 4), { what: 'the new versions in every catalog' })
    let stop = false
    const failures: string[] = []
    let calls = 0
    const steady = (async () => {
      while (!stop) {
        const body = `call ${calls++}`
        const res = await c.services.rpc.call('echo-svc', 'echo', text(body), { idempotent: true }).catch((e: Error) => e)
        if (res instanceof Error || str(res.payload) !== body) failures.push(res instanceof Error ? res.message : str(res.payload))
      }
    })()
    await b.services.registry.deploy({ name: 'echo-svc', replicas: 2, module: 'echo@^2' })
    const historyOf = (n: NoodleNode): string[] => n.services.runtime.status().find(s => s.service === 'echo-svc')?.history.map(h => `${h.module} ${h.outcome}`) ?? []
    // the first owner in rollout order starts it, fails its health check and rolls back; the next never starts it
    await waitFor(() => running('echo-svc').length === 2 && running('echo-svc').map(n => historyOf(n).at(-1)).sort().join() === 'echo@2.0.0 halted,echo@2.0.0 rolled back', { timeoutMs: 30_000, what: 'one owner to roll echo@2.0.0 back and the other to halt' })
    for (const n of running('echo-svc')) expect(n.services.runtime.status().find(s => s.service === 'echo-svc')).to.deep.include({ module: 'echo@1.0.0', state: 'running' })
    await b.services.registry.deploy({ name: 'echo-svc', replicas: 2, module: 'echo@^3' })
    await waitFor(() => running('echo-svc').length === 2 && running('echo-svc').every(n => historyOf(n).at(-1) === 'echo@3.0.0 running'), { timeoutMs: 30_000, what: 'both owners to run echo@3.0.0' })
    expect(running('echo-svc').map(n => historyOf(n).join()).sort()).to.deep.equal([
      'echo@1.0.0 replaced,echo@2.0.0 halted,echo@3.0.0 running',
      'echo@1.0.0 replaced,echo@2.0.0 rolled back,echo@3.0.0 running'
    ])
    stop = true
    await steady
    expect(calls).to.be.greaterThan(10)
    expect(failures).to.deep.equal([])

    // a module with a dependency: owners fetch both and link them into one sandbox
    for (const name of ['text-utils', 'shout']) {
      const { manifest, wasm } = await readModuleDir(example(name))
      await a.services.modules.publish(manifest, wasm)
    }
    await waitFor(() => c.services.modules.catalog.all().some(v => v.name === 'shout'), { what: 'shout in c\'s catalog' })
    await c.services.registry.deploy({ name: 'loud', replicas: 2, module: 'shout@^1' })
    await waitFor(() => running('loud').length === 2, { timeoutMs: 30_000, what: 'two owners to run loud' })
    for (const n of nodes) expect(str((await n.services.rpc.call('loud', 'shout', text('hello'))).payload)).to.equal('HELLO!')

    await c.services.registry.deploy({ name: 'count', replicas: 1, module: 'counter@1.0.0' })
    await waitFor(() => running('count').length === 1, { timeoutMs: 30_000, what: 'an owner to run count' })
    expect(str((await a.services.rpc.call('count', 'increment', text('5'))).payload)).to.equal('5')
    expect(str((await b.services.rpc.call('count', 'increment', text(''))).payload)).to.equal('6')
    const denied = await a.services.rpc.call('count', 'increment', text('not a number')).then(() => undefined, (e: Error) => e)
    expect(denied?.message).to.include('is not a whole number')

    // removing the service unloads it everywhere
    await b.services.registry.remove('echo-svc')
    await waitFor(() => running('echo-svc').length === 0, { what: 'echo-svc to be unloaded' })
  })

  it('an update rolls over the owners one at a time, each after the one before has passed its probation; a version whose error rate spikes after the switch is rolled back and not started on the next owner; every owner\'s history is visible from any node', async () => {
    // long enough for the bad version to see 20 calls on a busy machine (each trap replaces an instance)
    const probationMs = 5_000
    nodes = await startMesh(3, { runtime: { probationMs } })
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a] = nodes as [NoodleNode]
    const { manifest, wasm } = await readModuleDir(example('echo'))
    await a.services.modules.publish(manifest, wasm)
    await a.services.modules.publish({ ...manifest, version: '1.1.0' }, wasm)
    // 2.0.0 passes its health check, then traps on every call
    await a.services.modules.publish({ ...manifest, version: '2.0.0' }, wasmModule({ funcs: [{ name: 'echo', body: [op.unreachable] }, { name: 'health', body: [op.i32(0)] }] }))
    await waitFor(() => nodes.every(n => n.services.modules.catalog.all().length === 3), { what: 'the catalog on every node' })
    const historyOf = (n: NoodleNode): string[] => n.services.runtime.status().find(s => s.service === 'roll')?.history.map(h => `${h.module} ${h.outcome}`) ?? []
    const at = (n: NoodleNode, module: string): number => Date.parse(n.services.runtime.status().find(s => s.service === 'roll')!.history.findLast(h => h.module === module && h.outcome !== 'halted')!.at)

    await a.services.registry.deploy({ name: 'roll', replicas: 2, module: 'echo@1.0.0' })
    await waitFor(() => running('roll').length === 2, { timeoutMs: 30_000, what: 'two owners to run roll' })
    const owners = running('roll')
    const caller = nodes.find(n => !owners.includes(n))!

    await a.services.registry.deploy({ name: 'roll', replicas: 2, module: 'echo@1.1.0' })
    await waitFor(() => owners.every(n => historyOf(n).at(-1) === 'echo@1.1.0 running'), { timeoutMs: 30_000, what: 'both owners to run 1.1.0' })
    const [first, second] = [...owners].sort((x, y) => at(x, 'echo@1.1.0') - at(y, 'echo@1.1.0')) as [NoodleNode, NoodleNode]
    // one at a time: the second swapped only once the first was past its probation
    expect(at(second, 'echo@1.1.0') - at(first, 'echo@1.1.0')).to.be.at.least(probationMs - 50)

    // a steady stream of calls while 2.0.0 rolls out: its owner's calls trap, its error rate spikes, it goes back
    let stop = false
    const steady = Promise.all(Array.from({ length: 8 }, async () => {
      while (!stop) await caller.services.rpc.call('roll', 'echo', text('x'), { idempotent: true }).catch(() => {})
    }))
    try {
      await a.services.registry.deploy({ name: 'roll', replicas: 2, module: 'echo@2.0.0' })
      // until the first runs 1.1.0 again: the rollback is in its history before the old version has restarted
      await waitFor(() => historyOf(first).slice(-2).join() === 'echo@2.0.0 rolled back,echo@1.1.0 running' && historyOf(second).at(-1) === 'echo@2.0.0 halted', { timeoutMs: 60_000, what: 'the first owner to roll 2.0.0 back and run 1.1.0 again, and the second to halt' })
    } finally {
      stop = true
      await steady
    }
    expect(historyOf(first).slice(-2)).to.deep.equal(['echo@2.0.0 rolled back', 'echo@1.1.0 running'])
    const firstView = first.services.runtime.status().find(s => s.service === 'roll')!
    expect(firstView).to.deep.include({ module: 'echo@1.1.0', state: 'running' })
    expect(firstView.history.at(-2)?.error).to.match(/^error rate \d+ % over \d+ calls after the switch \(the version before: 0 %\)$/)
    expect(second.services.runtime.status().find(s => s.service === 'roll')).to.deep.include({ module: 'echo@1.1.0', state: 'running' })
    expect(str((await caller.services.rpc.call('roll', 'echo', text('fine again'))).payload)).to.equal('fine again')

    // the mesh-wide history, from the node that owns nothing
    const views = await caller.services.runtime.history('roll')
    expect(views.map(v => v.peerId).sort()).to.deep.equal(owners.map(n => n.peerId.toString()).sort())
    for (const v of views) expect(v.view?.history.map(h => h.outcome)).to.include('replaced')
    expect(views.find(v => v.peerId === second.peerId.toString())?.view?.history.at(-1)).to.deep.include({ module: 'echo@2.0.0', outcome: 'halted' })
  })

  it('module services take worker slots (the spec\'s, else the default, within what is left), advertised to the mesh and given back on removal; per-service metrics count calls, errors and instances', async () => {
    const metrics = createMetrics()
    nodes = await startMesh(2, { membership: { workerSlots: 4 } }, { metrics: metrics.libp2p })
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const { manifest, wasm } = await readModuleDir(example('echo'))
    await a.services.modules.publish(manifest, wasm)
    await waitFor(() => b.services.modules.catalog.all().length === 1, { what: 'the catalog on b' })
    const advertisedBy = (n: NoodleNode): number | undefined => b.services.membership.members().find(m => m.peerId === n.peerId.toString())?.resources.slotsUsed

    await b.services.registry.deploy({ name: 'big', replicas: 2, module: 'echo@^1', requirements: { slots: 3 } })
    await waitFor(() => running('big').length === 2, { timeoutMs: 30_000, what: 'both nodes to run big' })
    expect(a.services.runtime.status().find(s => s.service === 'big')?.slots).to.equal(3)
    await waitFor(() => advertisedBy(a) === 3, { what: 'a to advertise 3 slots used' })
    // asks for no slots: the default (2) would not fit beside big's 3 of 4, so it gets the 1 left
    await b.services.registry.deploy({ name: 'small', replicas: 2, module: 'echo@^1' })
    await waitFor(() => running('small').length === 2, { timeoutMs: 30_000, what: 'both nodes to run small' })
    expect(a.services.runtime.status().find(s => s.service === 'small')?.slots).to.equal(1)
    await waitFor(() => advertisedBy(a) === 4, { what: 'a to advertise 4 slots used' })

    // calls to a's own instances of small (what RPC calls that land on a reach)
    const endpoint = a.services.runtime.endpoint('small')!
    const call = async (fn: string): Promise<Uint8Array> => await endpoint.handler({ fn, payload: text('hi'), timeoutMs: 5_000, signal: AbortSignal.timeout(5_000) })
    for (let i = 0; i < 5; i++) expect(str(await call('echo'))).to.equal('hi')
    const missing = await call('no_such_export').then(() => undefined, (e: Error) => e)
    expect(missing?.name).to.equal('ServiceEndpointError')
    const scrape = await metrics.registry.metrics()
    const callsOnA = Number(/noodled_runtime_calls_total\{service="small"\} (\d+)/.exec(scrape)?.[1])
    const errorsOnA = Number(/noodled_runtime_call_errors_total\{service="small"\} (\d+)/.exec(scrape)?.[1])
    expect(callsOnA).to.equal(7) // ours and the health check run before small took calls
    expect(errorsOnA).to.equal(1)
    expect(scrape).to.match(/noodled_runtime_call_duration_seconds_count\{service="small"\} \d+/)
    expect(scrape).to.match(/noodled_runtime_instances\{service="big"\} 1/)

    await b.services.registry.remove('big')
    await waitFor(() => running('big').length === 0, { what: 'big to be unloaded' })
    await waitFor(() => advertisedBy(a) === 1, { what: 'a to advertise only small\'s slot' })
    expect(await metrics.registry.metrics()).to.match(/noodled_runtime_instances\{service="big"\} 0/)
  })

  it('a module calls another mesh service and makes HTTP requests only as far as manifest ∩ policy ∩ deploy grant; redirects are not followed, oversized responses refused, and a deploy asking beyond policy is refused', async () => {
    const closed: string[] = []
    const server: Server = createServer((req, res) => {
      if (req.url === '/hello') res.end('hello from http')
      else if (req.url === '/elsewhere') res.writeHead(302, { location: 'http://example.com/' }).end()
      else if (req.url === '/big') res.end(Buffer.alloc(5 * 1024 * 1024, 97))
      else if (req.url === '/slow') req.on('close', () => { closed.push('slow') }) // never answers
      else res.writeHead(404).end()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      // a lets modules reach 127.0.0.1 over HTTP; b keeps the default policy (no HTTP)
      // files: a directory the module may read, a file beside it that it may not, and a link out
      const files = await tmpDir()
      cleanups.push(files.cleanup)
      const granted = join(files.path, 'granted')
      await mkdir(granted)
      await writeFile(join(granted, 'hello.txt'), 'hi there')
      await writeFile(join(files.path, 'secret.txt'), 'not for modules')
      await symlink(join(files.path, 'secret.txt'), join(granted, 'link.txt'))
      // a lets modules reach 127.0.0.1 over HTTP and read the granted directory; b keeps the default policy (neither)
      nodes = await startMesh(2, { runtime: { policy: DEFAULT_POLICY } }, { runtime: { policy: { ...DEFAULT_POLICY, http: ['127.0.0.1'], paths: [granted] } } })
      await waitFor(() => converged(nodes), { what: 'membership convergence' })
      const [a, b] = nodes as [NoodleNode, NoodleNode]
      for (const name of ['echo', 'relay']) {
        const { manifest, wasm } = await readModuleDir(example(name))
        // this deployment's relay asks for the directory too
        await a.services.modules.publish(name === 'relay' ? { ...manifest, capabilities: { ...manifest.capabilities, paths: [granted] } } : manifest, wasm)
      }
      await waitFor(() => b.services.modules.catalog.all().length === 2, { what: 'the catalog on b' })
      await a.services.registry.deploy({ name: 'echo', replicas: 1, module: 'echo@^1' })
      await a.services.registry.deploy({ name: 'relay', replicas: 2, module: 'relay@^1' })
      await waitFor(() => running('relay').length === 2 && running('echo').length === 1, { timeoutMs: 30_000, what: 'relay on both nodes and echo on one' })
      const on = async (n: NoodleNode, fn: string, input: string, timeoutMs = 5_000): Promise<string> =>
        str(await n.services.runtime.endpoint('relay')!.handler({ fn, payload: text(input), timeoutMs, signal: AbortSignal.timeout(10_000) }))
      const failure = async (n: NoodleNode, fn: string, input: string, timeoutMs?: number): Promise<Error> =>
        await on(n, fn, input, timeoutMs).then(() => { throw new Error('expected the call to fail') }, (e: Error) => e)

      // call: granted on both (the default policy allows calls), wherever echo runs
      expect(await on(a, 'to_echo', 'ping')).to.equal('echo said: ping')
      expect(await on(b, 'to_echo', 'pong')).to.equal('echo said: pong')

      // http: granted on a only
      expect(a.services.runtime.status().find(s => s.service === 'relay')?.grant?.http).to.deep.equal(['127.0.0.1'])
      expect(await on(a, 'get', `${base}/hello`)).to.equal('200 hello from http')
      expect(await on(a, 'get', `${base}/elsewhere`)).to.equal('302 ')
      expect((await failure(a, 'get', `${base}/big`)).message).to.match(/exceeds the 4194304 byte limit/)
      const other = await failure(a, 'get', 'http://localhost:1/')
      expect(other).to.have.property('name', 'CapabilityDeniedError')
      const onB = b.services.runtime.status().find(s => s.service === 'relay')!
      expect(onB.grant?.http).to.deep.equal([])
      expect(onB.grant?.withheld).to.include('http 127.0.0.1')
      expect(await failure(b, 'get', `${base}/hello`)).to.have.property('name', 'CapabilityDeniedError')
      // paths: files under the granted directory only, links resolved first; nothing on b
      expect(await on(a, 'read', join(granted, 'hello.txt'))).to.equal('hi there')
      for (const outside of [join(files.path, 'secret.txt'), join(granted, '..', 'secret.txt'), join(granted, 'link.txt'), 'relative.txt']) {
        expect(await failure(a, 'read', outside), outside).to.have.property('name', 'CapabilityDeniedError')
      }
      expect(await failure(a, 'read', join(granted, 'missing.txt'))).to.have.property('name', 'NotFoundError')
      expect(await failure(b, 'read', join(granted, 'hello.txt'))).to.have.property('name', 'CapabilityDeniedError')
      // the module's call ends at its deadline, and the HTTP request made for it with it
      expect(await failure(a, 'get', `${base}/slow`, 300)).to.have.property('name', 'ModuleTimeoutError')
      await waitFor(() => closed.includes('slow'), { what: 'the slow request to be closed' })

      // the deploy narrows: no calls for this service, whatever the manifest and policy say
      await a.services.registry.deploy({ name: 'relay', replicas: 2, module: 'relay@^1', capabilities: { call: [] } })
      await waitFor(() => nodes.every(n => n.services.runtime.status().find(s => s.service === 'relay')?.grant?.call.length === 0), { timeoutMs: 30_000, what: 'both owners to reload relay without call' })
      const denied = await failure(a, 'to_echo', 'ping')
      expect(denied.name).to.equal('CapabilityDeniedError')
      expect(denied.message).to.include('no capability to call "echo"')
      // asking for more than the deploying node's policy allows is refused, naming it
      const refused = await b.services.registry.deploy({ name: 'relay', replicas: 2, module: 'relay@^1', capabilities: { http: ['evil.example.com'] } }).then(() => undefined, (e: Error) => e)
      expect(refused?.name).to.equal('CapabilityDeniedError')
      expect(refused?.message).to.include('http evil.example.com')
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('a service whose module cannot be had yet is retried, and runs once it is published', async () => {
    nodes = await startMesh(2)
    await waitFor(() => converged(nodes), { what: 'membership convergence' })
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    await a.services.registry.deploy({ name: 'later', replicas: 2, module: 'late@^1' })
    // the spec reaches b by gossip or the deployer's push-pull (anti-entropy, 30 s, is the last resort)
    await waitFor(() => nodes.every(n => n.services.runtime.status().find(s => s.service === 'later')?.state === 'failed'), { timeoutMs: 45_000, what: 'both owners to fail to load late@^1' })
      .catch((err) => { throw new Error(`${err.message as string}: ${JSON.stringify(nodes.map(n => ({ owns: n.services.registry.placement().services.get('later')?.owners.length ?? 0, catalog: n.services.registry.list().map(s => s.name), runtime: n.services.runtime.status() })))}`) })
    const failed = b.services.runtime.status().find(s => s.service === 'later')!
    expect(failed.error).to.match(/^ModuleNotFoundError: no module named "late"/)
    expect(failed.history.map(h => h.outcome)).to.deep.equal(['failed'])
    const { manifest, wasm } = await readModuleDir(example('echo'))
    await a.services.modules.publish({ ...manifest, name: 'late' }, wasm)
    await waitFor(() => running('later').length === 2, { timeoutMs: 30_000, what: 'both owners to load late@1.0.0 on a retry' })
    expect(str((await b.services.rpc.call('later', 'echo', text('at last'))).payload)).to.equal('at last')
    expect(b.services.runtime.status().find(s => s.service === 'later')!.history.map(h => `${h.module} ${h.outcome}`)).to.deep.equal(['late@^1 failed', 'late@1.0.0 running'])
  })
})
