import { join } from 'node:path'
import { expect } from 'chai'
import { fileURLToPath } from 'node:url'
import type { ModuleFetchView, ModuleGcView, ModuleInfoView, ModuleListView, ModuleResolutionView, PublishedModuleView } from '../../lib/interface/api.js'
import { DaemonProcess, killAll, json } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { ECHO_WASM, moduleDir, paddedWasm } from '../modules/fixtures.js'

describe('modules on real daemon processes', function () {
  this.timeout(120_000)
  const daemons: DaemonProcess[] = []
  let dir: Awaited<ReturnType<typeof tmpDir>>
  before(async () => { dir = await tmpDir() })
  after(async () => {
    await killAll(daemons)
    await dir.cleanup()
  })

  it('noodled module publish, ls, info, pin, unpin and gc; the catalog reaches another daemon, where the same content has the same CID', async () => {
    const a = await DaemonProcess.start(join(dir.path, 'a'), ['--log-level', 'warn'])
    daemons.push(a)
    const b = await DaemonProcess.start(join(dir.path, 'b'), ['--log-level', 'warn', '--bootstrap', (await a.id()).addrs[0]!])
    daemons.push(b)
    const echo = await moduleDir(join(dir.path, 'echo'), { name: 'echo', version: '1.0.0', description: 'says it back', entry: 'build/echo.wasm', exports: ['echo'], capabilities: { log: true } })

    const published = await json<PublishedModuleView>(a!, 'module', 'publish', echo)
    expect(published.name).to.equal('echo')
    expect(published.version).to.equal('1.0.0')
    expect(published.cid).to.match(/^bafyrei/)
    // the catalog entry reaches b (gossip, or b's pull when it connects); b does not hold the blocks
    await waitFor(async () => (await json<ModuleListView[]>(b, 'module', 'ls')).some(m => m.cid === published.cid), { what: 'b to list echo from the catalog' })
    const onB = (await json<ModuleListView[]>(b, 'module', 'ls'))[0]!
    expect(onB).to.deep.include({ name: 'echo', version: '1.0.0', cid: published.cid, publisher: (await a.id()).peerId, stored: false, pinned: false })
    // the same directory on another daemon, in another process: the same CID
    expect((await json<PublishedModuleView>(b!, 'module', 'publish', echo)).cid).to.equal(published.cid)
    expect((await json<ModuleListView[]>(b, 'module', 'ls'))[0]).to.deep.include({ stored: true, pinned: true })

    const text = await a!.cli('module', 'publish', echo)
    expect(text.code).to.equal(0)
    expect(text.stdout).to.equal(`published echo@1.0.0\n${published.cid}\n`)

    expect((await json<ModuleListView[]>(a!, 'module', 'ls')).map(m => [m.name, m.version, m.cid, m.stored, m.pinned])).to.deep.equal([['echo', '1.0.0', published.cid, true, true]])
    const info = await json<ModuleInfoView>(a!, 'module', 'info', 'echo@1.0.0')
    expect(info.cid).to.equal(published.cid)
    expect(info.wasm.chunks).to.deep.equal([info.wasm.cid])
    expect(info.size).to.equal(ECHO_WASM.byteLength)
    expect((info.manifest as any).capabilities.log).to.equal(true)
    expect((await json<ModuleInfoView>(a!, 'module', 'info', published.cid)).name).to.equal('echo')
    expect((await a!.cli('module', 'info', published.cid)).stdout).to.include('exports:      echo')

    // a second publish of echo@1.0.0 with other content is refused, and names what it is
    const changed = await moduleDir(join(dir.path, 'echo-changed'), { name: 'echo', version: '1.0.0', description: 'changed', entry: 'build/echo.wasm', exports: ['echo'] })
    const conflict = await a!.cli('module', 'publish', changed)
    expect(conflict.code).to.equal(1)
    expect(conflict.stderr).to.include(published.cid)

    expect((await json<ModuleGcView>(a!, 'module', 'gc')).removedBlocks).to.equal(0)
    expect((await json<ModuleInfoView>(a!, 'module', 'unpin', 'echo@1.0.0')).pinned).to.equal(false)
    expect(await json<ModuleGcView>(a!, 'module', 'gc')).to.deep.include({ removedBlocks: 2 })
    const gone = await a!.cli('module', 'info', published.cid)
    expect(gone.code).to.equal(1)
    expect(gone.stderr).to.include(`no block ${published.cid}`)
    // b still has its copy
    expect((await json<ModuleInfoView>(b!, 'module', 'pin', published.cid)).pinned).to.equal(true)
  })

  it('refuses bad module directories and unknown references with clear errors, and the daemon goes on', async () => {
    const [a] = daemons
    const cases: Array<[string, Record<string, unknown>, Uint8Array | null, RegExp]> = [
      ['no-export', { name: 'shout', version: '1.0.0', entry: 'shout.wasm', exports: ['shout'] }, ECHO_WASM, /exports\[0\].*no function "shout"/],
      ['bad-version', { name: 'shout', version: 'latest', entry: 'shout.wasm', exports: ['echo'] }, ECHO_WASM, /"version"/],
      ['not-built', { name: 'shout', version: '1.0.0', entry: 'build/shout.wasm', exports: ['echo'] }, null, /does not exist \(build the module first\?\)/],
      ['garbage', { name: 'shout', version: '1.0.0', entry: 'shout.wasm', exports: ['echo'] }, new Uint8Array([1, 2, 3]), /not valid WebAssembly/]
    ]
    for (const [name, manifest, wasm, message] of cases) {
      const res = await a!.cli('module', 'publish', await moduleDir(join(dir.path, name), manifest, wasm))
      expect(res.code, name).to.equal(1)
      expect(res.stderr, name).to.match(message)
    }
    const unknown = await a!.cli('module', 'info', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    expect(unknown.code).to.equal(1)
    expect(unknown.stderr).to.include('no block')
    expect((await a!.cli('module', 'info', 'nope@1.0.0')).stderr).to.include('no module nope@1.0.0')
    expect((await a!.cli('module', 'info', 'not-a-cid')).stderr).to.include('neither a CID nor name@version')
    expect((await a!.cli('module', 'ls')).code).to.equal(0)
  })

  it('noodled module resolve: the example modules published on one daemon resolve on the other, dependencies first', async () => {
    const [a, b] = daemons
    const example = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))
    const textUtils = await json<PublishedModuleView>(a!, 'module', 'publish', example('text-utils'))
    const shout = await json<PublishedModuleView>(a!, 'module', 'publish', example('shout'))
    await waitFor(async () => (await b!.cli('module', 'resolve', 'shout@^1', '--json')).code === 0, { what: 'b to resolve shout' })
    const r = await json<ModuleResolutionView>(b!, 'module', 'resolve', 'shout@^1')
    expect(r.root).to.equal('shout@1.0.0')
    expect(r.order).to.deep.equal(['text-utils@1.2.0', 'shout@1.0.0'])
    expect(r.lock).to.deep.equal({ 'shout@1.0.0': shout.cid, 'text-utils@1.2.0': textUtils.cid })
    const tree = await b!.cli('module', 'resolve', 'shout@^1')
    expect(tree.stdout).to.equal(`shout@1.0.0  ${shout.cid}\n└─ text-utils@1.2.0  ${textUtils.cid}\n`)
    const missing = await b!.cli('module', 'resolve', 'shout@^2')
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.include('no version of "shout" satisfies "^2"')
  })

  it('noodled module fetch: a module published on a is fetched by b; with a stopped, c fetches it from b\'s copy; what only a held is a clear error', async () => {
    const [a, b] = daemons
    const c = await DaemonProcess.start(join(dir.path, 'c'), ['--log-level', 'warn', '--bootstrap', (await b!.id()).addrs[0]!])
    daemons.push(c)
    const wasm = paddedWasm(2.5 * 1024 * 1024, 11)
    const big = await json<PublishedModuleView>(a!, 'module', 'publish', await moduleDir(join(dir.path, 'big'), { name: 'big', version: '1.0.0', entry: 'big.wasm', exports: ['echo'] }, wasm))
    await waitFor(async () => (await json<ModuleListView[]>(b!, 'module', 'ls')).some(m => m.cid === big.cid), { what: 'b to hear of big@1.0.0' })

    // text output; without a terminal, progress is a line per module on stderr
    const onB = await b!.cli('module', 'fetch', 'big@^1')
    expect(onB.code, onB.stderr).to.equal(0)
    expect(onB.stderr).to.equal(`[1/1] big@1.0.0: 4 block(s), 2.5 MiB\n`)
    expect(onB.stdout).to.match(new RegExp(`^big@1\\.0\\.0  ${big.cid}  4/4 block\\(s\\), 2\\.5 MiB in \\d+ ms from …\\S+ 4\\nfetched 1 module version, 2\\.5 MiB from 1 provider in \\d+ ms; pinned\\n$`))
    expect((await json<ModuleInfoView>(b!, 'module', 'info', 'big@1.0.0')).pinned).to.equal(true)

    // the publisher goes away; c still gets every byte, from b, and its dependencies (shout needs text-utils, published on a earlier)
    await a!.kill('SIGTERM')
    await waitFor(async () => (await json<ModuleListView[]>(c, 'module', 'ls')).some(m => m.cid === big.cid), { what: 'c to hear of big@1.0.0' })
    const onC = await json<ModuleFetchView>(c, 'module', 'fetch', big.cid)
    expect(onC.modules).to.have.length(1)
    expect(onC.modules[0]).to.include({ name: 'big', version: '1.0.0', cid: big.cid, size: wasm.byteLength, blocks: 4, fetchedBlocks: 4, pinned: true })
    const served = onC.modules[0]!.providers.filter(p => p.blocks > 0)
    expect(served.map(p => p.peerId)).to.deep.equal([(await b!.id()).peerId])
    expect((await json<ModuleInfoView>(c, 'module', 'info', big.cid)).size).to.equal(wasm.byteLength)

    // shout and text-utils were only ever on a: nobody can serve them now, and the error says so
    const orphan = await c.cli('module', 'fetch', 'shout@^1')
    expect(orphan.code).to.equal(1)
    expect(orphan.stderr).to.match(/BlockUnavailableError: no peer served block \S+: /)
    // the daemon goes on
    expect((await c.cli('module', 'ls')).code).to.equal(0)
  })
})

