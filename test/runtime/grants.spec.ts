import { expect } from 'chai'
import { parseManifest } from '../../lib/modules/manifest.js'
import { DEFAULT_POLICY, grantFor, type NodePolicy } from '../../lib/runtime/grants.js'
import { limitMemory } from '../../lib/runtime/memory-limit.js'
import { op, wasmModule } from './wasm.js'

const manifest = (capabilities: Record<string, unknown>, resources: Record<string, unknown> = {}): ReturnType<typeof parseManifest> =>
  parseManifest({ name: 'm', version: '1.0.0', entry: 'm.wasm', exports: ['f'], capabilities, resources })
const policy = (over: Partial<NodePolicy> = {}): NodePolicy => ({ ...DEFAULT_POLICY, ...over })

/** WebAssembly's JS API (the compiler's lib here has no DOM types). */
const WA = (globalThis as any).WebAssembly

/** memory.grow(n) once, from inside a module with `memory`, capped at `cap` pages: the old size in pages, or -1. */
function grow (memory: { min: number, max?: number }, cap: number, n: number): number {
  const wasm = limitMemory(wasmModule({ memory, funcs: [{ name: 'g', body: [op.i32(n), op.memoryGrow] }] }), cap)
  return new WA.Instance(new WA.Module(wasm), {}).exports.g()
}

describe('capability grants and memory limits', () => {
  it('grants what the manifest asks for, the policy allows and the deploy allows; withholds the rest, naming it', () => {
    const m = manifest({ log: true, kv: true, call: ['users', 'billing'], http: ['api.example.com', 'evil.net'], paths: ['/data/in'] })
    const g = grantFor(m, policy({ call: ['user*'], http: ['*.example.com', 'api.example.com'], paths: ['/data'] }), { call: ['users'], kv: false })
    expect(g).to.deep.include({ log: true, kv: false, call: ['users'], http: ['api.example.com'], paths: ['/data/in'] })
    expect(g.withheld).to.deep.equal(['kv', 'call billing', 'http evil.net'])
    // nothing asked, nothing granted, whatever the policy
    expect(grantFor(manifest({}), policy())).to.deep.include({ log: false, kv: false, call: [], http: [], paths: [], withheld: [] })
  })

  it('refuses a deploy that asks for more than the policy allows, with each excess', () => {
    const m = manifest({ kv: true, http: ['api.example.com'] })
    expect(() => grantFor(m, policy({ kv: false }), { kv: true, http: ['api.example.com'], paths: ['/etc'] }))
      .to.throw('the deploy asks for more than this node\'s policy allows: kv, http api.example.com, path /etc')
      .with.property('name', 'CapabilityDeniedError')
  })

  it('caps memory and time at the policy; paths match whole directories only', () => {
    const g = grantFor(manifest({ paths: ['/data2', '/data/x'] }, { memoryPages: 4096, timeoutMs: 120_000 }), policy({ paths: ['/data'], maxMemoryPages: 256, maxTimeoutMs: 5_000 }))
    expect(g).to.deep.include({ memoryPages: 256, timeoutMs: 5_000, paths: ['/data/x'] })
  })

  it('caps a module\'s memory: a missing maximum is set, a larger one lowered, a smaller one kept', () => {
    // from 1 page: with a cap of 4, growing by 3 works and by 4 fails; a declared max of 2 still rules
    expect(grow({ min: 1 }, 4, 3)).to.equal(1)
    expect(grow({ min: 1 }, 4, 4)).to.equal(-1)
    expect(grow({ min: 1, max: 100 }, 4, 3)).to.equal(1)
    expect(grow({ min: 1, max: 100 }, 4, 4)).to.equal(-1)
    expect(grow({ min: 1, max: 2 }, 4, 1)).to.equal(1)
    expect(grow({ min: 1, max: 2 }, 4, 2)).to.equal(-1)
    // without the cap, the same module grows freely
    expect(new WA.Instance(new WA.Module(wasmModule({ memory: { min: 1 }, funcs: [{ name: 'g', body: [op.i32(100), op.memoryGrow] }] })), {}).exports.g()).to.equal(1)
    // a module without memory passes unchanged
    const plain = wasmModule({ funcs: [{ name: 'f', body: [op.i32(0)] }] })
    expect([...limitMemory(plain, 4)]).to.deep.equal([...plain])
    expect(() => limitMemory(wasmModule({ memory: { min: 8 }, funcs: [] }), 4)).to.throw('memory 0 starts at 8 pages; the grant allows 4')
    expect(() => limitMemory(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]), 4)).to.throw('not a WebAssembly module')
  })
})
