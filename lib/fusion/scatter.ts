import type { CallOptions, CallResult } from '../rpc/index.js'
import { parseScores } from './scores.js'
import type { ProcessorDescriptor } from './task.js'

/** What scatter needs: mesh RPC. */
export interface Caller {
  call: (service: string, fn: string, payload: Uint8Array, options: CallOptions) => Promise<CallResult>
}

/** How one processor's part of a fusion went. */
export interface ProcessorOutcome {
  processor: string
  modality: string
  service: string
  /** ok: scores arrived; timeout: not by the deadline; error: failed or answered malformed scores; missing: its modality was not in the input */
  status: 'ok' | 'timeout' | 'error' | 'missing'
  /** a second call went to another instance after the first passed the processor's p95 */
  hedged: boolean
  /** the instance whose answer was used (ok), or the last one tried */
  instance?: string
  /** which call answered: the first, or the hedge */
  answeredBy?: 'primary' | 'hedge'
  latencyMs?: number
  error?: string
  probs?: Float64Array
}

export interface ScatterCall {
  processor: ProcessorDescriptor
  payload: Uint8Array
  /** hedge after this many ms without an answer (the processor's p95); undefined: no hedge */
  hedgeAfterMs?: number
}

export interface ScatterOptions {
  /** performance.now() by which every outcome is settled */
  deadlineAt: number
  labels: readonly string[]
  index: ReadonlyMap<string, number>
  /** asked when a hedge is due: false, and the call is not hedged (HedgeBudget) */
  mayHedge?: () => boolean
  signal?: AbortSignal
}

const abortReason = (why: string): Error => Object.assign(new Error(why), { name: 'AbortError' })

/**
 * One processor's call, hedged (Dean and Barroso, "The Tail at Scale",
 * CACM 56(2), 2013): after `hedgeAfterMs` without an answer a second call
 * goes to another instance (the first one's is excluded); the first good
 * answer wins and the other call is cancelled, which the callee hears (a
 * cancel frame). At `deadlineAt` whatever is still running is cancelled and
 * the outcome is a timeout. Never rejects.
 */
function callProcessor (caller: Caller, c: ScatterCall, options: ScatterOptions): Promise<ProcessorOutcome> {
  const { processor } = c
  const started = performance.now()
  const outcome: ProcessorOutcome = { processor: processor.name, modality: processor.modality, service: processor.service, status: 'timeout', hedged: false }
  return new Promise<ProcessorOutcome>((resolve) => {
    const primary = new AbortController()
    let hedge: AbortController | undefined
    let primaryInstance: string | undefined
    let failures = 0
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      clearTimeout(deadlineTimer)
      if (hedgeTimer != null) clearTimeout(hedgeTimer)
      options.signal?.removeEventListener('abort', onOuterAbort)
      // the call still running (if any) is cancelled; the one that settled ignores it
      const why = abortReason('another call answered, or the fusion ended')
      primary.abort(why)
      hedge?.abort(why)
      resolve(outcome)
    }
    const onOuterAbort = (): void => {
      outcome.status = 'error'
      outcome.error = 'the fusion was aborted'
      finish()
    }
    const send = (which: 'primary' | 'hedge', controller: AbortController, exclude?: ReadonlySet<string>): void => {
      let instance: string | undefined
      const timeoutMs = Math.max(1, Math.floor(options.deadlineAt - performance.now()))
      caller.call(processor.service, processor.fn ?? 'classify', c.payload, {
        signal: controller.signal,
        timeoutMs,
        idempotent: true,
        ...(exclude != null ? { exclude } : {}),
        onAttempt: (peer) => {
          instance = peer
          if (which === 'primary') primaryInstance = peer
        }
      }).then((result) => {
        if (settled) return
        outcome.instance = result.instance
        outcome.latencyMs = Math.round((performance.now() - started) * 100) / 100
        try {
          outcome.probs = parseScores(result.payload, options.labels, options.index)
          outcome.status = 'ok'
          outcome.answeredBy = which
          delete outcome.error
        } catch (err: any) {
          outcome.status = 'error'
          outcome.error = `${String(err.name)}: ${String(err.message)}`
        }
        finish()
      }, (err: any) => {
        if (settled || controller.signal.aborted) return
        failures++
        outcome.instance = instance ?? outcome.instance
        outcome.error = `${String(err.name)}: ${String(err.message)}`
        outcome.status = err.name === 'DeadlineExceededError' ? 'timeout' : 'error'
        // the other call may still answer
        if (failures >= (hedge != null ? 2 : 1)) finish()
      })
    }
    const deadlineTimer = setTimeout(() => {
      outcome.status = 'timeout'
      outcome.error = 'no answer by the deadline'
      finish()
    }, Math.max(0, options.deadlineAt - performance.now()))
    let hedgeTimer: ReturnType<typeof setTimeout> | undefined
    if (c.hedgeAfterMs != null && started + c.hedgeAfterMs < options.deadlineAt) {
      hedgeTimer = setTimeout(() => {
        hedgeTimer = undefined
        if (settled || failures > 0 || options.mayHedge?.() === false) return
        hedge = new AbortController()
        outcome.hedged = true
        send('hedge', hedge, primaryInstance != null ? new Set([primaryInstance]) : undefined)
      }, c.hedgeAfterMs)
    }
    if (options.signal?.aborted === true) {
      onOuterAbort()
      return
    }
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    send('primary', primary)
  })
}

/** Every processor's call in parallel, each settled by the deadline (see callProcessor). */
export async function scatter (caller: Caller, calls: readonly ScatterCall[], options: ScatterOptions): Promise<ProcessorOutcome[]> {
  return await Promise.all(calls.map(async c => await callProcessor(caller, c, options)))
}
