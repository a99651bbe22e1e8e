import { PerformanceObserver } from 'node:perf_hooks'
import type { Call } from './loops.js'
import { summarise, type LatencyStats } from './stats.js'

/** GC pauses of the load driver's process in a measured window. */
export interface DriverPauseStats { gcPauses: number, gcMs: number, gcMaxMs: number }

/** An open loop's figures: latency from when each call was due, and what may explain its tail. */
export interface OpenLoopStats extends LatencyStats {
  rate: number
  /** the counted window, epoch ms (`performance.timeOrigin + performance.now()`) */
  window: { from: number, to: number }
  driver: DriverPauseStats
  errors?: number
  firstError?: string
  overloaded?: boolean
}

/**
 * Open loop at `rate` calls/s: `warmupMs` at that rate uncounted, then
 * `runMs` counted, latency from when each call was due, so a stall delays
 * the calls behind it in the figures too (no coordinated omission). The
 * warm-up is there because each open loop follows a closed loop at some
 * peak: without it, the first half second paid for the garbage and the
 * grown queues that loop left (in the driver and in the daemons), which is
 * not the latency at this rate.
 */
export async function openLoop (call: Call, rate: number, opts: { warmupMs: number, runMs: number }): Promise<OpenLoopStats> {
  const errors: string[] = []
  // calls still out, counted, not kept in a Set: the driver must not make garbage that outlives
  // the young generation (a Set entry added and deleted per call does: docs/design.md, "RPC hot
  // path"), or its own full collections, 25-50 ms with the heap this process holds, land in
  // whichever figure is being measured
  let outstanding = 0
  let issuing = true
  let allAnswered: () => void = () => {}
  const answered = new Promise<void>(resolve => { allAnswered = resolve })
  const started = performance.now()
  const measureFrom = started + opts.warmupMs
  const total = Math.round(rate * (opts.warmupMs + opts.runMs) / 1000)
  // one array of the final size: an array grown by push is copied again and again while young,
  // every copy surviving a scavenge, in the same process as the client being measured
  const samples = new Float64Array(total)
  let counted = 0
  // the driver's own pauses in the counted window, reported beside the figure: a full collection
  // here delays every call in flight, whichever side is measured
  const driver = new DriverPauses(measureFrom)
  // a second's worth of calls unanswered: the side measured cannot keep up with this rate, and
  // issuing the rest only piles up work (a node:http2 session with tens of thousands of streams
  // open held the driver at a full core and 1.5 GB for minutes); the round is counted overloaded
  let cutOff = false
  for (let i = 0; i < total; i++) {
    if (outstanding > rate) { cutOff = true; break }
    const due = started + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise(resolve => setTimeout(resolve, wait))
    // from when it was due (a stall delays the calls behind it, no coordinated omission), or
    // from when it left if that was earlier: a call sent up to 1 ms early (not worth a timer)
    // is not credited with negative latency
    const from = Math.min(due, performance.now())
    const measured = due >= measureFrom
    outstanding++
    call().then(() => {
      if (measured) samples[counted++] = (performance.now() - from) * 1000
      if (--outstanding === 0 && !issuing) allAnswered()
    }, (err: Error) => {
      // counted, not thrown: a baseline that fails under the load says so in its figures
      if (measured) errors.push(err.message)
      if (--outstanding === 0 && !issuing) allAnswered()
    })
  }
  issuing = false
  const issuedLate = performance.now() - started > (opts.warmupMs + opts.runMs) * 1.1
  if (outstanding === 0) allAnswered()
  await answered
  // the schedule ended opts.runMs after the warm-up: a driver still issuing well past that, or answers
  // still outstanding half a run later, mean the offered rate was more than the driver and client
  // (one JS thread issuing, say, 270k calls/s open loop, far costlier a call than a closed loop)
  // could sustain; the latencies then measure an ever-growing queue, not the transport
  const overloaded = cutOff || issuedLate || performance.now() - measureFrom > opts.runMs * 1.5
  const ended = performance.now()
  const stats = summarise(samples.subarray(0, counted), ended - measureFrom)
  return { ...stats, rate, window: { from: performance.timeOrigin + measureFrom, to: performance.timeOrigin + ended }, driver: driver.stop(), ...(errors.length > 0 ? { errors: errors.length, firstError: errors[0] } : {}), ...(overloaded ? { overloaded } : {}) }
}

/** GC pauses of this process (the load driver) from `from` on: how many, their total and the longest, in ms. */
export class DriverPauses {
  private readonly from: number
  private readonly observer: PerformanceObserver
  private n = 0
  private totalMs = 0
  private maxMs = 0

  constructor (from: number) {
    this.from = from
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.startTime < this.from) continue
        this.n++
        this.totalMs += e.duration
        this.maxMs = Math.max(this.maxMs, e.duration)
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }

  stop (): { gcPauses: number, gcMs: number, gcMaxMs: number } {
    this.observer.disconnect()
    return { gcPauses: this.n, gcMs: Math.round(this.totalMs * 10) / 10, gcMaxMs: Math.round(this.maxMs * 10) / 10 }
  }
}
