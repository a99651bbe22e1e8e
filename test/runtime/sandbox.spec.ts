import { execFile } from 'node:child_process'
import { formatWithOptions } from 'node:util'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { DeadlineExceededError } from '../../lib/interface/errors.js'
import { parseManifest } from '../../lib/modules/manifest.js'
import { DEFAULT_POLICY, grantFor, type Grant } from '../../lib/runtime/grants.js'
import { KvNamespace } from '../../lib/runtime/kv.js'
import { ModulePool } from '../../lib/runtime/pool.js'
import { rejection } from '../utils/rejection.js'
import { waitFor } from '../utils/wait-for.js'
import { op, wasmModule } from './wasm.js'

const log = defaultLogger().forComponent('test:sandbox')
const grant = (over: Partial<Grant> = {}): Grant => ({ log: false, kv: false, call: [], http: [], paths: [], memoryPages: 16, timeoutMs: 300, withheld: [], ...over })
const example = async (name: string): Promise<Uint8Array> => new Uint8Array(await readFile(fileURLToPath(new URL(`../../../examples/modules/${name}/build/${name}.wasm`, import.meta.url))))

/** Rounds of the compute example's `work` (xorshift) that take `pool` at least `ms` on the host running the test, doubling from a million. */
async function roundsTaking (pool: ModulePool, ms: number): Promise<number> {
  let n = 1_000_000
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now()
    await pool.call('work', new TextEncoder().encode(String(n)))
    if (performance.now() - t0 >= ms) break
    n *= 2
  }
  return n
}

/** A module with the misbehaviours the sandbox must contain, and one function that behaves. */
const HOSTILE = wasmModule({
  imports: [{ module: 'extism:host/user', name: 'kv_get', params: ['i64'], results: ['i64'] }],
  memory: { min: 1 },
  funcs: [
    { name: 'ok', body: [op.i32(0)] },
    { name: 'spin', body: [op.loop, op.br(0), op.end, op.i32(0)] },
    { name: 'trap', body: [op.unreachable] },
    // grow memory 100 pages at a time until it fails, then trap: without the cap, up to 4 GiB
    { name: 'bomb', body: [op.loop, op.i32(100), op.memoryGrow, op.i32(-1), op.i32eq, op.if, op.unreachable, op.end, op.br(0), op.end, op.i32(0)] },
    { name: 'kv', body: [op.i64(0), op.call(0), op.drop, op.i32(0)] }
  ]
})

const KERNEL = 'extism:host/env'
const MiB = 1024 * 1024
/** `n` as wasm's i64.const, for sizes past i32. */
const i64 = (n: number): number[] => op.i64(n)

/**
 * A module that goes for memory the wasm cap does not see: Extism's kernel
 * (`extism:host/env`, imported by every Extism module) hands out host-side
 * blocks. Each loop is bounded, so a sandbox without the limit costs this
 * test a gigabyte, not the machine.
 */
const GREEDY = wasmModule({
  imports: [
    { module: KERNEL, name: 'alloc', params: ['i64'], results: ['i64'] },
    { module: KERNEL, name: 'store_u8', params: ['i64', 'i32'], results: [] },
    { module: KERNEL, name: 'output_set', params: ['i64', 'i64'], results: [] },
    { module: KERNEL, name: 'log_info', params: ['i64'], results: [] }
  ],
  memory: { min: 1 },
  funcs: [
    { name: 'ok', body: [op.i32(0)] },
    // four 256 MiB blocks, one byte written in every 4 KiB page of each: 1 GiB resident without a limit
    {
      name: 'bomb',
      locals: ['i64', 'i64', 'i32'],
      body: [
        op.loop,
        i64(256 * MiB), op.call(0), op.localSet(0), i64(0), op.localSet(1),
        op.loop,
        op.localGet(0), op.localGet(1), op.i64add, op.i32(1), op.call(1),
        op.localGet(1), i64(4096), op.i64add, op.localTee(1), i64(256 * MiB), op.i64ltU, op.brIf(0),
        op.end,
        op.localGet(2), op.i32(1), op.i32add, op.localTee(2), op.i32(4), op.i32ltU, op.brIf(0),
        op.end,
        op.i32(0)
      ]
    },
    // 64 KiB blocks, each written, 4,096 of them (256 MiB) without a limit
    {
      name: 'creep',
      locals: ['i64', 'i32'],
      body: [
        op.loop,
        i64(64 * 1024), op.call(0), op.localTee(0), op.i32(1), op.call(1),
        op.localGet(1), op.i32(1), op.i32add, op.localTee(1), op.i32(4096), op.i32ltU, op.brIf(0),
        op.end,
        op.i32(0)
      ]
    },
    // an output of 2 MiB, twice the grant
    { name: 'big_output', locals: ['i64'], body: [i64(2 * MiB), op.call(0), op.localTee(0), i64(2 * MiB), op.call(2), op.i32(0)] },
    // a one-byte line logged 100,000 times in one call
    {
      name: 'flood',
      locals: ['i64', 'i32'],
      body: [
        i64(1), op.call(0), op.localTee(0), op.i32(0x78), op.call(1),
        op.loop,
        op.localGet(0), op.call(3),
        op.localGet(1), op.i32(1), op.i32add, op.localTee(1), op.i32(100_000), op.i32ltU, op.brIf(0),
        op.end,
        op.i32(0)
      ]
    }
  ]
})

/** Call `echo` back to back until stopped (another service must keep answering); stop() resolves with the calls answered. */
function keepCalling (echo: ModulePool): { stop: () => Promise<number> } {
  let answered = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      expect(new TextDecoder().decode(await echo.call('echo', new TextEncoder().encode('hi')))).to.equal('hi')
      answered++
    }
  })()
  return { stop: async () => { stopped = true; await loop; return answered } }
}

/** The process's resident set, sampled every 10 ms while `f` runs: its peak over the start, in bytes. */
async function rssGrowthDuring (f: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage.rss()
  let peak = start
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 10)
  try {
    await f()
  } finally {
    clearInterval(timer)
  }
  return Math.max(peak, process.memoryUsage.rss()) - start
}

describe('module sandbox (Extism in worker threads)', function () {
  this.timeout(30_000)
  const pools: ModulePool[] = []
  after(async () => { await Promise.all(pools.map(async p => { await p.close() })) })
  const pool = async (wasm: Uint8Array, g: Grant, service = 'svc', kv?: KvNamespace): Promise<ModulePool> => {
    const p = await ModulePool.create({ service, wasm, grant: g, size: 2, host: { log, ...(kv != null ? { kv } : {}) } })
    pools.push(p)
    return p
  }

  it('contains a loop, a memory bomb, a trap and an ungranted host function, each with a typed error, while another service keeps answering', async () => {
    const hostile = await pool(HOSTILE, grant())
    const echo = await pool(await example('echo'), grant({ timeoutMs: 5_000 }), 'echo')
    // the other service answers all along
    const steady = keepCalling(echo)

    const t0 = performance.now()
    const spin = await rejection(hostile.call('spin', new Uint8Array(0)))
    const spun = performance.now() - t0
    expect(spin.name).to.equal('ModuleTimeoutError')
    expect(spin.message).to.include('300 ms')
    expect(spun).to.be.within(290, 5_000)
    expect((await hostile.call('ok', new Uint8Array(0))).byteLength).to.equal(0)

    const bomb = await rejection(hostile.call('bomb', new Uint8Array(0)))
    expect(bomb.name).to.equal('ModuleTrapError')
    const trap = await rejection(hostile.call('trap', new Uint8Array(0)))
    expect(trap.name).to.equal('ModuleTrapError')
    expect(trap.message).to.include('unreachable')
    const kv = await rejection(hostile.call('kv', new Uint8Array(0)))
    expect(kv.name).to.equal('CapabilityDeniedError')
    expect(kv.message).to.include('no kv capability')

    // the spinning instance is kept for its grace (it might only have been slow), then replaced
    await waitFor(() => hostile.counters.restarts === 4, { timeoutMs: 10_000, what: 'the spinning instance replaced after its grace' })
    expect(hostile.counters).to.include({ timeouts: 1, overruns: 1, recovered: 0, traps: 2, denied: 1, restarts: 4 })
    // each misbehaviour cost only its own instance
    expect((await hostile.call('ok', new Uint8Array(0))).byteLength).to.equal(0)
    expect(await steady.stop()).to.be.greaterThan(0)
    expect(echo.counters.errors).to.equal(0)
  })

  it('caps the kernel\'s host-side blocks at the grant: 256 MiB blocks touched page by page, a creep of 64 KiB blocks and a 2 MiB output each fail inside the module with ModuleLimitError; memory stays bounded and another service keeps answering', async () => {
    // 16 pages: 1 MiB for the module's wasm memory and its kernel blocks together
    const greedy = await pool(GREEDY, grant({ timeoutMs: 10_000 }), 'greedy')
    const echo = await pool(await example('echo'), grant({ timeoutMs: 5_000 }), 'echo')
    const steady = keepCalling(echo)
    const errors: Error[] = []
    const growth = await rssGrowthDuring(async () => {
      for (const fn of ['bomb', 'creep', 'big_output', 'bomb']) errors.push(await rejection(greedy.call(fn, new Uint8Array(0))))
    })
    for (const err of errors) {
      expect(err.name, err.message).to.equal('ModuleLimitError')
      expect(err.message).to.include('memory grant (16 pages)')
    }
    expect(errors[0]!.message).to.include(`a block of ${256 * MiB} bytes`)
    // the creep got 64 KiB blocks until the grant (less the module's own page) was used
    expect(errors[1]!.message).to.match(/a block of 65536 bytes with \d+ of its 1048576 in use/)
    // without the limit: 1 GiB resident for the bombs, 256 MiB for the creep
    expect(growth).to.be.below(128 * MiB)
    // each failure cost its own instance only; the service answers again, the other never stopped
    expect(greedy.counters).to.include({ traps: 4, restarts: 4 })
    expect((await greedy.call('ok', new Uint8Array(0))).byteLength).to.equal(0)
    expect(await steady.stop()).to.be.greaterThan(0)
    expect(echo.counters.errors).to.equal(0)
  })

  it('lets a call write 100 log lines and counts the rest in one line: a module logging in a loop cannot flood the daemon', async () => {
    const lines: string[] = []
    const spy = Object.assign((format: string, ...args: unknown[]) => { lines.push(formatWithOptions({}, format, ...args)) }, { enabled: true, error: () => {}, trace: () => {}, newScope: () => spy })
    const p = await ModulePool.create({ service: 'flood', wasm: GREEDY, grant: grant({ log: true, timeoutMs: 10_000 }), size: 1, host: { log: spy as any } })
    pools.push(p)
    for (let call = 0; call < 2; call++) {
      lines.length = 0
      expect((await p.call('flood', new Uint8Array(0))).byteLength).to.equal(0)
      // the worker's messages arrive after the call's result
      await waitFor(() => lines.some(l => l.includes('dropped')), { timeoutMs: 5_000, what: 'the dropped-lines note' })
      expect(lines.filter(l => l.endsWith(': x'))).to.have.length(100)
      expect(lines.filter(l => l.includes('99900 more log lines dropped'))).to.have.length(1)
      expect(lines).to.have.length(101)
    }
  })

  it('a call late only because the module was slow fails at its limit but keeps its instance (no new worker), which then answers the next call', async () => {
    const compute = await example('compute')
    const slow = await ModulePool.create({ service: 'slow', wasm: compute, grant: grant({ timeoutMs: 20 }), size: 1, host: { log } })
    pools.push(slow)
    // n rounds of xorshift: find an n that takes at least twice the 20 ms limit but well inside the grace (1 s)
    const measure = await ModulePool.create({ service: 'measure', wasm: compute, grant: grant({ timeoutMs: 5_000 }), size: 1, host: { log } })
    pools.push(measure)
    const n = await roundsTaking(measure, 40)
    const late = await rejection(slow.call('work', new TextEncoder().encode(String(n))))
    expect(late.name).to.equal('ModuleTimeoutError')
    await waitFor(() => slow.counters.recovered === 1, { timeoutMs: 10_000, what: 'the slow call to finish within its grace' })
    expect(slow.counters).to.include({ timeouts: 1, overruns: 1, recovered: 1, restarts: 0 })
    expect(slow.running).to.equal(1)
    expect(new TextDecoder().decode(await slow.call('health', new Uint8Array(0)))).to.equal('ok')
    expect(slow.counters.restarts).to.equal(0)
  })

  it('a call its caller abandons (the RPC deadline\'s own error) keeps its instance until the module ends: the next call waits for it instead of finding it mid-call', async () => {
    const compute = await example('compute')
    const one = await ModulePool.create({ service: 'abandoned', wasm: compute, grant: grant({ timeoutMs: 5_000 }), size: 1, host: { log } })
    pools.push(one)
    // n rounds of xorshift that take at least 200 ms, well inside the grace (5 s, the limit)
    const n = await roundsTaking(one, 200)
    const caller = new AbortController()
    const abandoned = one.call('work', new TextEncoder().encode(String(n)), { signal: caller.signal })
    caller.abort(new DeadlineExceededError('the caller\'s deadline passed'))
    const err = await rejection(abandoned)
    expect(err.name).to.equal('DeadlineExceededError')
    // the only instance is still running the abandoned call; this one waits for it
    expect(new TextDecoder().decode(await one.call('health', new Uint8Array(0)))).to.equal('ok')
    expect(one.counters).to.include({ overruns: 1, recovered: 1, restarts: 0, timeouts: 0 })
  })

  it('refuses, before anything runs, a module that imports WASI (files, sockets) or a host function that does not exist, or starts above its memory grant', async () => {
    const wasi = wasmModule({ imports: [{ module: 'wasi_snapshot_preview1', name: 'fd_read', params: ['i32', 'i32'], results: ['i32'] }], funcs: [{ name: 'read', body: [op.i32(0)] }] })
    const e1 = await rejection(pool(wasi, grant()))
    expect(e1.name).to.equal('CapabilityDeniedError')
    expect(e1.message).to.include('wasi_snapshot_preview1.fd_read')
    const socket = wasmModule({ imports: [{ module: 'extism:host/user', name: 'tcp_connect', params: ['i64'], results: ['i64'] }], funcs: [{ name: 'dial', body: [op.i32(0)] }] })
    expect((await rejection(pool(socket, grant()))).message).to.include('extism:host/user.tcp_connect')
    const big = wasmModule({ memory: { min: 64 }, funcs: [{ name: 'ok', body: [op.i32(0)] }] })
    const e3 = await rejection(pool(big, grant({ memoryPages: 16 })))
    expect(e3.name).to.equal('ModuleLimitError')
    expect(e3.message).to.include('starts at 64 pages; the grant allows 16')
    expect((await rejection(pool(Uint8Array.of(1, 2, 3), grant()))).name).to.equal('ModuleLimitError')
  })

  it('links a module\'s dependencies into its sandbox by name (shout calls text-utils), and refuses an import its dependency does not export', async () => {
    const shout = await ModulePool.create({ service: 'shout', wasm: await example('shout'), dependencies: [{ name: 'text-utils', wasm: await example('text-utils') }], grant: grant({ timeoutMs: 5_000 }), size: 1, host: { log } })
    pools.push(shout)
    expect(new TextDecoder().decode(await shout.call('shout', new TextEncoder().encode('hello mesh')))).to.equal('HELLO MESH!')
    // calls go to the root's functions, never to a dependency's of the same name
    const shadowed = await ModulePool.create({ service: 'echo', wasm: await example('echo'), dependencies: [{ name: 'dep', wasm: wasmModule({ funcs: [{ name: 'echo', body: [op.unreachable] }] }) }], grant: grant({ timeoutMs: 5_000 }), size: 1, host: { log } })
    pools.push(shadowed)
    expect(new TextDecoder().decode(await shadowed.call('echo', new TextEncoder().encode('mine')))).to.equal('mine')
    // without the dependency, text-utils is a namespace nothing provides
    const alone = await rejection(ModulePool.create({ service: 'shout', wasm: await example('shout'), grant: grant(), size: 1, host: { log } }))
    expect(alone.name).to.equal('CapabilityDeniedError')
    expect(alone.message).to.include('text-utils.upper_at')
    // with a "text-utils" that lacks upper_at: named, before anything runs
    const wrong = await rejection(ModulePool.create({ service: 'shout', wasm: await example('shout'), dependencies: [{ name: 'text-utils', wasm: await example('echo') }], grant: grant(), size: 1, host: { log } }))
    expect(wrong.name).to.equal('DependencyError')
    expect(wrong.message).to.include('its dependency "text-utils" does not export')
    // a dependency is checked as the root is: one that imports WASI is refused too
    const wasi = wasmModule({ imports: [{ module: 'wasi_snapshot_preview1', name: 'fd_write', params: ['i32'], results: ['i32'] }], funcs: [{ name: 'upper_at', body: [op.i32(0)] }] })
    const hostileDep = await rejection(ModulePool.create({ service: 'shout', wasm: await example('shout'), dependencies: [{ name: 'text-utils', wasm: wasi }], grant: grant(), size: 1, host: { log } }))
    expect(hostileDep.name).to.equal('CapabilityDeniedError')
    expect(hostileDep.message).to.include('dependency "text-utils" imports wasi_snapshot_preview1.fd_write')
  })

  it('one instance answers past 34,000 calls, where Extism\'s kernel memory, never reset, would have run out of block addresses', async function () {
    this.timeout(120_000)
    const echo = await ModulePool.create({ service: 'long', wasm: await example('echo'), grant: grant({ timeoutMs: 5_000 }), size: 1, host: { log } })
    pools.push(echo)
    const input = new TextEncoder().encode('again')
    // 2^15 blocks is the limit (a block index is kept in the top bits of a 64-bit address)
    for (let i = 0; i < 34_000; i++) {
      const out = await echo.call('echo', input)
      if (out.byteLength !== input.byteLength) expect.fail(`call ${i} answered ${out.byteLength} bytes`)
    }
    expect(echo.counters).to.deep.include({ calls: 34_000, errors: 0, restarts: 0 })
  })

  it('starts instances in a process run with V8 flags (a worker refuses them if handed the parent\'s execArgv)', async () => {
    const pool = new URL('../../lib/runtime/pool.js', import.meta.url).href
    const wasm = fileURLToPath(new URL('../../../examples/modules/echo/build/echo.wasm', import.meta.url))
    const script = `
      import { readFile } from 'node:fs/promises'
      import { defaultLogger } from '@libp2p/logger'
      import { ModulePool } from '${pool}'
      const p = await ModulePool.create({ service: 'flags', wasm: new Uint8Array(await readFile(${JSON.stringify(wasm)})), grant: ${JSON.stringify(grant({ timeoutMs: 5_000 }))}, size: 1, host: { log: defaultLogger().forComponent('t') } })
      process.stdout.write(new TextDecoder().decode(await p.call('echo', new TextEncoder().encode('flagged'))))
      await p.close()`
    const out = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
      execFile(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../../..', import.meta.url)), timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err == null ? 0 : (err as any).code ?? 1, stdout, stderr })
      })
    })
    expect(out, out.stderr).to.include({ code: 0, stdout: 'flagged' })
  })

  it('runs the counter example with kv in its own namespace: two services never see each other\'s count', async () => {
    const datastore = new MemoryDatastore()
    const manifest = parseManifest(JSON.parse(await readFile(fileURLToPath(new URL('../../../examples/modules/counter/noodle.json', import.meta.url)), 'utf8')))
    const g = grantFor(manifest, DEFAULT_POLICY)
    expect(g.kv).to.equal(true)
    const a = await pool(await example('counter'), g, 'counter-a', new KvNamespace(datastore, 'counter-a'))
    const b = await pool(await example('counter'), g, 'counter-b', new KvNamespace(datastore, 'counter-b'))
    const call = async (p: ModulePool, fn: string, input = ''): Promise<string> => new TextDecoder().decode(await p.call(fn, new TextEncoder().encode(input)))
    expect(await call(a, 'increment')).to.equal('1')
    expect(await call(a, 'increment', '41')).to.equal('42')
    expect(await call(b, 'increment')).to.equal('1')
    expect(await call(a, 'get')).to.equal('42')
    const bad = await rejection(call(a, 'increment', 'x1'))
    expect(bad.message).to.include('"x1" is not a whole number')
    // a module's own error leaves its instance alone
    expect(a.counters.restarts).to.equal(0)
    expect(await call(a, 'get')).to.equal('42')
  })
})
