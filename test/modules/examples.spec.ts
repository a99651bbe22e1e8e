import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { createPlugin, type CallContext, type Plugin } from '../../lib/runtime/extism/index.js'
import { wasmApi } from '../../lib/wasm-api.js'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { resolveModules, type ModuleVersion } from '../../lib/modules/resolver.js'
import { packModule } from '../../lib/modules/content.js'

// the example modules, built by `npm run build:examples` (npm test runs it first)
const dir = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))

const LIMITS = { maxKernelBytes: 64 << 20, maxLogLines: 100, maxLogLineChars: 4096 }

/** The built examples `names` (name -> example), linked in that order, in an Extism plugin in this thread. */
async function plugin (names: Record<string, string>, functions?: Parameters<typeof createPlugin>[1]['functions']): Promise<Plugin> {
  const modules = await Promise.all(Object.entries(names).map(async ([name, example]) => ({
    name,
    module: await wasmApi.compile(new Uint8Array(await readFile(`${dir(example)}/build/${example}.wasm`)))
  })))
  return await createPlugin(modules, { runInWorker: false, limits: LIMITS, ...(functions != null ? { functions } : {}) })
}

describe('example modules (examples/modules, AssemblyScript + @extism/as-pdk)', () => {
  it('each builds to WebAssembly that exports what its manifest says, and packs to a stable CID', async () => {
    const versions: ModuleVersion[] = []
    for (const name of ['echo', 'text-utils', 'shout', 'counter']) {
      const { manifest, wasm } = await readModuleDir(dir(name))
      const packed = await packModule(manifest, wasm)
      expect((await packModule(manifest, Uint8Array.from(wasm))).root.toString()).to.equal(packed.root.toString())
      versions.push({ name: manifest.name, version: manifest.version, cid: packed.root.toString(), dependencies: manifest.dependencies })
    }
    // shout depends on text-utils' version range
    const r = resolveModules('shout@^1', { versions: (n) => versions.filter(v => v.name === n) })
    expect(r.order).to.deep.equal(['text-utils@1.2.0', 'shout@1.0.0'])
  })

  it('run under Extism: echo answers with its input, text-utils upper-cases, shout calls text-utils through its import (linked by name)', async () => {
    const echo = await plugin({ main: 'echo' })
    try {
      expect((await echo.call('echo', 'hello mesh'))?.text()).to.equal('hello mesh')
      expect((await echo.call('health'))?.text()).to.equal('ok')
    } finally {
      await echo.close()
    }
    const textUtils = await plugin({ main: 'text-utils' })
    try {
      expect((await textUtils.call('upper', 'quiet'))?.text()).to.equal('QUIET')
    } finally {
      await textUtils.close()
    }
    // shout imports upper_at from the "text-utils" namespace: Extism links the module named so
    const shout = await plugin({ 'text-utils': 'text-utils', main: 'shout' })
    try {
      expect((await shout.call('shout', 'hello mesh'))?.text()).to.equal('HELLO MESH!')
    } finally {
      await shout.close()
    }
  })

  it('counter keeps its count through the kv host functions (the ABI the runtime provides), and refuses input that is not a number', async () => {
    const { manifest } = await readModuleDir(dir('counter'))
    expect(manifest.capabilities.kv).to.equal(true)
    // a stand-in for the runtime's kv: the host functions of the ABI, over a Map
    const kv = new Map<string, string>()
    const counter = await plugin({ main: 'counter' }, {
      'extism:host/user': {
        kv_get: (ctx: CallContext, key: bigint) => {
          const value = kv.get(ctx.read(key)!.text())
          return value == null ? 0n : ctx.store(value)
        },
        kv_put: (ctx: CallContext, key: bigint, value: bigint) => { kv.set(ctx.read(key)!.text(), ctx.read(value)!.text()) },
        kv_delete: (ctx: CallContext, key: bigint) => { kv.delete(ctx.read(key)!.text()) }
      }
    })
    try {
      expect((await counter.call('get'))?.text()).to.equal('0')
      expect((await counter.call('increment'))?.text()).to.equal('1')
      expect((await counter.call('increment', '41'))?.text()).to.equal('42')
      expect(kv.get('count')).to.equal('42')
      const err = await counter.call('increment', '4x').then(() => undefined, (e: Error) => e)
      expect(err?.message).to.include('"4x" is not a whole number')
      expect((await counter.call('get'))?.text()).to.equal('42')
      expect((await counter.call('reset'))?.text()).to.equal('0')
      expect(kv.has('count')).to.equal(false)
    } finally {
      await counter.close()
    }
  })
})
