import type { Logger } from '@libp2p/interface'
import { DependencyError, ModuleLimitError, ModuleTimeoutError, ModuleTrapError, NoHandlerError, ServiceEndpointError } from '../interface/errors.js'
import { wasmApi, type WasmModule } from '../wasm-api.js'
import { KERNEL_LIMIT_MESSAGE } from './extism/index.js'
import type { Grant } from './grants.js'
import { checkImports, hostFunctions, type HostContext } from './host.js'
import { CallScope, spawnWorker, type PoolWorker } from './pool-worker.js'
import { limitMemory } from './memory-limit.js'
import type { PoolObserver } from './metrics.js'
import type { SpareWorkers } from './spare-workers.js'

/**
 * What a trap looks like once Extism has carried it out of the worker: the
 * engine's RuntimeError messages (and a stack overflow). Anything else a
 * call fails with is the module's own error (`error_set`), which leaves the
 * instance fine.
 */
/** Error names that say nothing about what went wrong; a host function's error so named is wrapped. */
const GENERIC = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'AbortError'])

/** Extism's name for the module a plugin's calls go to; the others are linked by their names. */
const MAIN = 'main'

/** How long closing a pool waits for calls in flight. */
export const DRAIN_MS = 5_000

/**
 * A call abandoned at its deadline (or by its caller) has its instance kept
 * this much longer, at least OVERRUN_GRACE_MIN_MS: if the call finishes
 * meanwhile, the worker was only slow (a host whose cores are shared, e.g.
 * 50 daemons on 2), not stuck, and it goes back to the pool. Terminating it
 * at once made every late call cost a new worker and a compile, so calls
 * late only because the host was busy made it busier still. A module that is really
 * stuck holds its worker for its limit plus this grace, then loses it.
 */
export const OVERRUN_GRACE_MIN_MS = 1_000

/** How a call fails when its plugin's worker ended under it (its heap limit, a crash). */
const WORKER_ENDED = /the plugin's worker ended/

const TRAP = /unreachable|out of bounds|divide by zero|integer overflow|invalid conversion|indirect call|null function|call stack|out of memory|memory access/i

export interface PoolCounters {
  calls: number
  errors: number
  timeouts: number
  traps: number
  denied: number
  /** instances terminated and replaced (a timeout, a trap, a denial mid-call) */
  restarts: number
  /** calls abandoned (their limit, their caller) while the module still ran */
  overruns: number
  /** of those, instances kept because the call finished within the grace */
  recovered: number
  totalMs: number
}

export interface ModulePoolInit {
  /** the service these instances serve; names its kv namespace and log lines */
  service: string
  wasm: Uint8Array
  /**
   * Modules linked with it, dependencies before dependents (the lockfile's
   * order): each is instantiated in the same sandbox, with the same grant,
   * and its exports are what a module importing its name gets.
   */
  dependencies?: Array<{ name: string, wasm: Uint8Array }>
  grant: Grant
  /** instances at most (the worker slots this service may use) */
  size: number
  host: Omit<HostContext, 'service'>
  /** told of every call and restart (the runtime's per-service metrics) */
  observer?: PoolObserver
  /** workers started ahead of need, taken when there is one */
  spares?: SpareWorkers
}

/**
 * A service's sandboxed instances: Extism plugins, each in its own worker
 * thread (`runInWorker`), up to `size`, made on demand. The wasm has its
 * memories capped at the grant's pages before anything runs, and its imports
 * checked (nothing but Extism's kernel and the host functions). A call runs
 * on an idle instance (or waits for one) under the grant's time limit; a call
 * that overruns is abandoned and its worker terminated, a trap or a
 * capability denial ends its instance too, and the next call gets a fresh one.
 */
export class ModulePool {
  readonly counters: PoolCounters = { calls: 0, errors: 0, timeouts: 0, traps: 0, denied: 0, restarts: 0, overruns: 0, recovered: 0, totalMs: 0 }
  private readonly init: ModulePoolInit
  private readonly log: Logger
  private readonly instances = new Set<PoolWorker>()
  private readonly waiting: Array<(i: PoolWorker | Error) => void> = []
  private creating = 0
  /** wakes a draining close() when an instance comes back */
  private drained?: () => void
  /** the plugin's modules, compiled: dependencies, then the root as "main" */
  private modules: Array<{ name: string, module: WasmModule }> = []
  private closed = false

  private constructor (init: ModulePoolInit) {
    this.init = init
    this.log = init.host.log
  }

  /** Check and prepare the module and its dependencies (limits, imports) and start one instance, so a module that cannot run is refused now. */
  static async create (init: ModulePoolInit): Promise<ModulePool> {
    const pool = new ModulePool(init)
    const provided = new Set(Object.keys(hostFunctions(init.grant, { ...init.host, service: init.service })))
    const linked = new Map<string, Set<string>>()
    const prepare = async (wasm: Uint8Array, who: string): Promise<{ data: Uint8Array, compiled: WasmModule }> => {
      const limited = limitMemory(wasm, init.grant.memoryPages)
      let compiled
      try {
        compiled = await wasmApi.compile(limited)
      } catch (err: any) {
        throw new ModuleLimitError(`${who} is not valid WebAssembly: ${err.message}`)
      }
      // a module may import from the dependencies before it (the lockfile is in dependency order)
      checkImports(compiled, provided, linked, who)
      return { data: limited, compiled }
    }
    const dependencies: Array<{ name: string, module: WasmModule }> = []
    for (const d of init.dependencies ?? []) {
      if (d.name === MAIN || linked.has(d.name)) throw new DependencyError(`cannot link a dependency named "${d.name}" (${d.name === MAIN ? 'the name of the root module' : 'twice'})`)
      const { compiled } = await prepare(d.wasm, `dependency "${d.name}"`)
      dependencies.push({ name: d.name, module: compiled })
      linked.set(d.name, new Set(wasmApi.Module.exports(compiled).filter(e => e.kind === 'function').map(e => e.name)))
    }
    pool.modules = [...dependencies, { name: MAIN, module: (await prepare(init.wasm, 'the module')).compiled }]
    pool.release(await pool.spawn())
    return pool
  }

  /** Instances running now. */
  get running (): number {
    return this.instances.size
  }

  async call (fn: string, input: Uint8Array, options: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const started = performance.now()
    this.counters.calls++
    const timeoutMs = Math.min(options.timeoutMs ?? this.init.grant.timeoutMs, this.init.grant.timeoutMs)
    let instance: PoolWorker
    try {
      instance = await this.acquire()
    } catch (err) {
      this.counters.errors++
      this.ended(started, true)
      throw err
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    // ends what host functions do for this call (mesh calls, HTTP) when the call ends, however it ends
    const scope = new CallScope(Date.now() + timeoutMs)
    instance.current = scope
    instance.hostError = undefined
    let outcome: Promise<unknown> | undefined
    // whether the module's call has ended; until it has, its worker is not free for another call
    let settled = false
    try {
      // the root's function, never a dependency's of the same name
      const running = outcome = instance.plugin.call([MAIN, fn], input)
      // registered before the race below, so it has run by the time the race's outcome is seen;
      // a call abandoned at its deadline settles (or not) in its grace, or after its worker is gone
      running.then(() => { settled = true }, () => { settled = true })
      const output = await Promise.race([
        running,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => { reject(new ModuleTimeoutError(`"${this.init.service}/${fn}" ran past its ${timeoutMs} ms limit`)) }, timeoutMs)
          if (options.signal != null) {
            onAbort = () => { reject(options.signal!.reason) }
            if (options.signal.aborted) onAbort()
            else options.signal.addEventListener('abort', onAbort, { once: true })
          }
        })
      ])
      const bytes = output?.bytes() ?? new Uint8Array(0)
      this.release(instance)
      this.ended(started, false)
      return bytes
    } catch (err: any) {
      this.counters.errors++
      this.ended(started, true)
      throw this.failed(instance, fn, err, settled ? undefined : outcome)
    } finally {
      clearTimeout(timer)
      if (onAbort != null) options.signal?.removeEventListener('abort', onAbort)
      // the ended scope stays on an instance whose module runs on past it (the
      // grace): its host calls see the deadline passed and the signal aborted
      if (instance.overrunning !== true) instance.current = undefined
      scope.end()
    }
  }

  /**
   * Take no new calls, let those in flight finish (up to `drainMs`), then
   * end every instance. Callers still waiting for an instance are told the
   * service is unloading (their RPC client retries elsewhere).
   */
  async close (options: { drainMs?: number } = {}): Promise<void> {
    this.closed = true
    for (const w of this.waiting.splice(0)) w(new NoHandlerError(`"${this.init.service}" is unloading`))
    const deadline = Date.now() + (options.drainMs ?? DRAIN_MS)
    while ([...this.instances].some(i => i.busy) && Date.now() < deadline) {
      await new Promise<void>(resolve => { this.drained = resolve; setTimeout(resolve, Math.max(0, deadline - Date.now())).unref?.() })
    }
    await Promise.all([...this.instances].map(async i => { await i.plugin.close().catch(() => {}) }))
    this.instances.clear()
  }

  private ended (started: number, failed: boolean): void {
    const ms = performance.now() - started
    this.counters.totalMs += ms
    this.init.observer?.call(ms, failed)
  }

  /**
   * Sort out what a failed call means for its instance, and the error its
   * caller gets. `running` is the module's call if it has not ended: the
   * call was abandoned (its limit, or its caller's signal with whatever
   * reason, such as the RPC deadline's DeadlineExceededError) and the
   * instance stays busy until the module ends. Handing it out before then
   * makes the next call fail with Extism's "plugin is not reentrant".
   */
  private failed (instance: PoolWorker, fn: string, err: any, running?: Promise<unknown>): Error {
    const message = String(err?.message ?? err)
    if (running != null) {
      if (err instanceof ModuleTimeoutError) this.counters.timeouts++
      this.overran(instance, running)
      return err instanceof Error ? err : new ModuleTimeoutError(message)
    }
    // a host function threw for this call: Extism's worker does not survive that (the
    // next call on it finds no port), so the instance goes; the caller gets the host's error
    const hostError = instance.hostError
    if (hostError != null) {
      this.replace(instance)
      if (hostError.name === 'CapabilityDeniedError') this.counters.denied++
      // our named errors (denied, limits, the mesh call's own) go as they are; the runtime's generic ones are wrapped
      return GENERIC.has(hostError.name) ? new ServiceEndpointError(`"${this.init.service}/${fn}" failed in a host function: ${hostError.message}${hostError.cause instanceof Error ? ` (${hostError.cause.message})` : ''}`) : hostError
    }
    // the kernel refused a block past the grant: the module was unwound mid-call (its own
    // allocator's state with it), so its instance goes like a trapped one
    if (message.includes(KERNEL_LIMIT_MESSAGE)) {
      this.counters.traps++
      this.replace(instance)
      return new ModuleLimitError(`"${this.init.service}/${fn}" went past its memory grant (${this.init.grant.memoryPages} pages): ${message}; its instance was replaced`)
    }
    if (WORKER_ENDED.test(message)) {
      this.counters.traps++
      this.replace(instance)
      return new ModuleTrapError(`"${this.init.service}/${fn}" failed: ${message}; its instance was replaced`)
    }
    if (TRAP.test(message)) {
      this.counters.traps++
      this.replace(instance)
      return new ModuleTrapError(`"${this.init.service}/${fn}" trapped: ${message}; its instance was replaced`)
    }
    this.release(instance)
    return new ServiceEndpointError(`"${this.init.service}/${fn}" failed: ${message}`)
  }

  private async spawn (): Promise<PoolWorker> {
    const worker = await spawnWorker(this.modules, this.init)
    this.instances.add(worker)
    return worker
  }

  private async acquire (): Promise<PoolWorker> {
    if (this.closed) throw new NoHandlerError(`"${this.init.service}" is unloading`)
    for (const i of this.instances) {
      if (!i.busy) {
        i.busy = true
        return i
      }
    }
    if (this.instances.size + this.creating < this.init.size) {
      this.creating++
      try {
        return await this.spawn()
      } finally {
        this.creating--
      }
    }
    const got = await new Promise<PoolWorker | Error>(resolve => { this.waiting.push(resolve) })
    if (got instanceof Error) throw got
    return got
  }

  /** A call on `instance` ended and the instance is fine (its kernel memory went with the call): the next caller's, or idle. */
  private release (instance: PoolWorker): void {
    if (this.closed) {
      instance.busy = false
      this.drained?.()
      return
    }
    const next = this.waiting.shift()
    if (next != null) {
      next(instance)
      return
    }
    instance.busy = false
  }

  /**
   * The call on `instance` was abandoned while the module still ran: keep
   * the instance (busy) for the grace; back to the pool if the call then
   * ends cleanly, replaced if it fails, touched a host function that threw,
   * or is still running.
   */
  private overran (instance: PoolWorker, outcome: Promise<unknown>): void {
    if (this.closed) {
      this.replace(instance)
      return
    }
    this.counters.overruns++
    instance.overrunning = true
    const graceMs = Math.max(this.init.grant.timeoutMs, OVERRUN_GRACE_MIN_MS)
    let timer: ReturnType<typeof setTimeout> | undefined
    const stuck = new Promise<'stuck'>(resolve => { timer = setTimeout(() => { resolve('stuck') }, graceMs) })
    void Promise.race([outcome.then(() => 'finished' as const, () => 'failed' as const), stuck]).then(end => {
      clearTimeout(timer)
      instance.overrunning = false
      instance.current = undefined
      if (end === 'finished' && instance.hostError == null && !this.closed) {
        this.counters.recovered++
        this.log('instance of %s finished its abandoned call within %d ms; kept', this.init.service, graceMs)
        this.release(instance)
      } else {
        this.replace(instance)
      }
    })
  }

  /** End an instance (its worker is terminated) and let a waiting caller have a fresh one. */
  private replace (instance: PoolWorker): void {
    this.instances.delete(instance)
    this.drained?.()
    this.counters.restarts++
    this.init.observer?.restart()
    void instance.plugin.close().catch(() => {})
    this.log('instance of %s replaced', this.init.service)
    const next = this.waiting.shift()
    if (next == null || this.closed) return
    this.creating++
    this.spawn().then(next, next).finally(() => { this.creating-- })
  }
}
