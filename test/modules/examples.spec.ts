import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import createPlugin, { type CallContext } from '@extism/extism'
import { expect } from 'chai'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { resolveModules, type ModuleVersion } from '../../lib/modules/resolver.js'
import { packModule } from '../../lib/modules/content.js'

// the example modules, built by `npm run build:examples` (npm test runs it first)
const dir = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))

describe('example modules (examples/modules, AssemblyScript + @extism/as-pdk)', () => {
  it('each builds to WebAssembly that exports what its manifest says, and packs to a stable CID', async () => {
    const versions: ModuleVersion[] = []
    for (const name of ['echo', 'text-utils', 'shout']) {
      const { manifest, wasm } = await readModuleDir(dir(name))
      const packed = await packModule(manifest, wasm)
      expect((await packModule(manifest, Uint8Array.from(wasm))).root.toString()).to.equal(packed.root.toString())
      versions.push({ name: manifest.name, version: manifest.version, cid: packed.root.toString(), dependencies: manifest.dependencies })
    }
    // shout depends on text-utils' version range
    const r = resolveModules('shout@^1', { versions: (n) => versions.filter(v => v.name === n) })
    expect(r.order).to.deep.equal(['text-utils@1.2.0', 'shout@1.0.0'])
  })

  it('run under Extism: echo answers with its input, text-utils upper-cases, shout calls text-utils through its import', async () => {
    const echo = await createPlugin({ wasm: [{ data: new Uint8Array(await readFile(`${dir('echo')}/build/echo.wasm`)) }] }, { useWasi: false })
    try {
      expect((await echo.call('echo', 'hello mesh'))?.text()).to.equal('hello mesh')
      expect((await echo.call('health'))?.text()).to.equal('ok')
    } finally {
      await echo.close()
    }
    const textUtils = await createPlugin({ wasm: [{ data: new Uint8Array(await readFile(`${dir('text-utils')}/build/text-utils.wasm`)) }] }, { useWasi: false })
    try {
      expect((await textUtils.call('upper', 'quiet'))?.text()).to.equal('QUIET')
    } finally {
      await textUtils.close()
    }
    // shout imports upper_at from the "text-utils" namespace; the Extism JS SDK does not link
    // modules by name (the runtime will, issue 7), so the test provides that import itself
    const shout = await createPlugin({ wasm: [{ data: new Uint8Array(await readFile(`${dir('shout')}/build/shout.wasm`)) }] }, {
      useWasi: false,
      functions: { 'text-utils': { upper_at: (ctx: CallContext, offset: bigint) => ctx.store(ctx.read(offset)!.text().toUpperCase()) } }
    })
    try {
      expect((await shout.call('shout', 'hello mesh'))?.text()).to.equal('HELLO MESH!')
    } finally {
      await shout.close()
    }
  })
})
