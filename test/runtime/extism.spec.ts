import { expect } from 'chai'
import { CallContext, ENV, RESET } from '../../lib/runtime/extism/call-context.js'
import { createPlugin, KERNEL_LIMIT_MESSAGE } from '../../lib/runtime/extism/index.js'
import { wasmApi } from '../../lib/wasm-api.js'
import { rejection } from '../utils/rejection.js'
import { op, wasmModule } from './wasm.js'

const LIMITS = { maxKernelBytes: 1 << 20, maxLogLines: 100, maxLogLineChars: 4096 }

describe('the vendored Extism kernel and plugin (lib/runtime/extism)', function () {
  this.timeout(30_000)

  it('counts every block against the limit: a freed block gives its bytes back, a reset gives all back, a block past the limit is refused before it exists', () => {
    const cc = new CallContext(ArrayBuffer, console, {}, { maxBytes: 1 << 20 })
    const env = cc[ENV]
    // the null page the kernel reserves
    expect(cc.liveBytes).to.equal(1)
    const a = env.alloc(600_000n)
    expect(cc.liveBytes).to.equal(600_001)
    expect(() => env.alloc(600_000n)).to.throw(KERNEL_LIMIT_MESSAGE)
    expect(cc.liveBytes).to.equal(600_001)
    env.free(Number(a))
    expect(cc.liveBytes).to.equal(1)
    env.alloc(600_000n)
    cc.store(new Uint8Array(100_000))
    expect(cc.liveBytes).to.equal(700_001)
    expect(() => cc.store(new Uint8Array(400_000))).to.throw(KERNEL_LIMIT_MESSAGE)
    // sizes that are not sizes
    expect(() => env.alloc(-1n)).to.throw(KERNEL_LIMIT_MESSAGE)
    expect(() => env.alloc(1n << 62n)).to.throw(KERNEL_LIMIT_MESSAGE)
    cc[RESET]()
    expect(cc.liveBytes).to.equal(1)
  })

  it('counts the module\'s own memories against the kernel\'s limit in the worker\'s context', () => {
    let wasmBytes = 900_000
    const cc = new CallContext(ArrayBuffer, console, {}, { maxBytes: 1 << 20, used: () => wasmBytes })
    expect(() => cc[ENV].alloc(200_000n)).to.throw(/a block of 200000 bytes with 900001 of its 1048576 in use/)
    wasmBytes = 0
    expect(cc[ENV].alloc(200_000n)).to.be.a('bigint')
  })

  it('fails the call in flight at once when the plugin\'s worker ends under it (upstream left it pending)', async () => {
    const spin = wasmModule({ funcs: [{ name: 'spin', body: [op.loop, op.br(0), op.end, op.i32(0)] }] })
    const plugin = await createPlugin([{ name: 'main', module: await wasmApi.compile(spin) }], { limits: LIMITS })
    const call = rejection(plugin.call(['main', 'spin']))
    // the call is running in the worker before it is ended
    await new Promise(resolve => setImmediate(resolve))
    const t0 = performance.now()
    await plugin.close()
    const err = await call
    expect(err.message).to.include('the plugin\'s worker ended')
    expect(performance.now() - t0).to.be.below(5_000)
  })

  it('starts no plugin from a module whose instantiation fails in the worker: the error comes back, no worker is left waiting', async () => {
    // imports a function the plugin does not provide
    const needy = wasmModule({ imports: [{ module: 'nowhere', name: 'f', params: [], results: [] }], funcs: [{ name: 'ok', body: [op.i32(0)] }] })
    const err = await rejection(createPlugin([{ name: 'main', module: await wasmApi.compile(needy) }], { limits: LIMITS }))
    expect(err.message).to.match(/nowhere|import/i)
  })
})
