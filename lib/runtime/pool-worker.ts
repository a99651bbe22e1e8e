import { LOG_LINE_CHARS, LOG_LINES_PER_CALL, PAGE_BYTES } from './constants.js'
import { createPlugin, type Plugin, type WasmModule } from './extism/index.js'
import type { Grant } from './grants.js'
import { HOST_NAMESPACE, hostFunctions, moduleConsole, type CurrentCall, type HostContext } from './host.js'
import { guardedFetch } from './http.js'
import type { SpareWorkers } from './spare-workers.js'

/** One sandboxed instance of a module service: an Extism plugin in its own worker thread. */
export interface PoolWorker {
  plugin: Plugin
  busy: boolean
  /** the call it runs now, for host functions working on its behalf */
  current?: CurrentCall
  /** what a host function threw during the current call */
  hostError?: Error
  /** its abandoned call still runs (the grace after a timeout) */
  overrunning?: boolean
}

/**
 * The call an instance runs. Its signal is made only when a host function
 * asks for it: an AbortController aborted at the end of every call cost
 * about 100 us a call (the AbortError's stack), most of a warm call.
 */
export class CallScope implements CurrentCall {
  readonly deadline: number
  private controller?: AbortController

  constructor (deadline: number) {
    this.deadline = deadline
  }

  get signal (): AbortSignal {
    // asked for after the call ended (a module still running past it): already aborted
    if (this.ended) return AbortSignal.abort()
    this.controller ??= new AbortController()
    return this.controller.signal
  }

  private ended = false

  end (): void {
    this.ended = true
    this.controller?.abort()
  }
}

/** `f`, telling `onError` what it throws or rejects with (and still throwing it). */
function hostCall<F extends (...args: any[]) => any> (f: F, onError: (err: Error) => void): F {
  return ((...args: any[]) => {
    try {
      const out = f(...args)
      return out instanceof Promise ? out.catch((err: Error) => { onError(err); throw err }) : out
    } catch (err: any) {
      onError(err)
      throw err
    }
  }) as F
}

/**
 * A new worker for a pool: the modules (compiled, memories capped and imports
 * checked by the pool already) in an Extism plugin in its own thread, with
 * only the host functions the grant allows. The kernel's blocks count against
 * the grant's memory with the module's own (lib/runtime/extism/README.md). A
 * host function's error is noted on the worker, so the pool can tell it from
 * the module's own failure.
 */
export async function spawnWorker (modules: Array<{ name: string, module: WasmModule }>, init: { service: string, grant: Grant, host: Omit<HostContext, 'service'>, spares?: SpareWorkers }): Promise<PoolWorker> {
  const { grant, service } = init
  const ctx: HostContext = { ...init.host, service }
  const worker: Partial<PoolWorker> & { busy: boolean } = { busy: true }
  const current = (): CurrentCall | undefined => worker.current
  const noted = <F extends (...args: any[]) => any>(f: F): F => hostCall(f, (err) => { worker.hostError ??= err })
  const spare = init.spares?.take()
  worker.plugin = await createPlugin(modules, {
    limits: { maxKernelBytes: grant.memoryPages * PAGE_BYTES, maxLogLines: LOG_LINES_PER_CALL, maxLogLineChars: LOG_LINE_CHARS },
    // checks each request against the grant (ports too) and fails it with a named error
    fetch: noted(guardedFetch(grant.http, current)),
    ...(spare != null ? { spareWorker: spare } : {}),
    logger: moduleConsole(grant, ctx),
    functions: { [HOST_NAMESPACE]: Object.fromEntries(Object.entries(hostFunctions(grant, ctx, current)).map(([name, f]) => [name, noted(f)])) }
  })
  return worker as PoolWorker
}
