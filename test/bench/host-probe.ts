import type { ChildProcess } from 'node:child_process'
import { spawnPrinting } from './child.js'

/** A gap in the probe's 1 ms timer counted as a stall: the probe was not scheduled for that long. */
const STALL_MS = 2

/**
 * The probe, run with `node -e`: an idle process with a 1 ms timer that
 * prints every gap longer than STALL_MS as `<epoch ms> <gap ms>`. It does no
 * work and allocates next to nothing, so a gap is the host not running it:
 * the scheduler (other processes on two cores) or, in a VM, the hypervisor
 * taking the vCPU away; and every 50 ms `<epoch ms> 0`, a heartbeat.
 * Prints "ready" first.
 */
const PROBE = `
let last = performance.now()
let beat = last
setInterval(() => {
  const now = performance.now()
  if (now - last > ${STALL_MS}) process.stdout.write((performance.timeOrigin + last).toFixed(1) + ' ' + (now - last).toFixed(2) + '\\n')
  // a heartbeat (a gap of 0) every 50 ms: the reader knows how far the probe has looked
  if (now - beat > 50) { process.stdout.write((performance.timeOrigin + now).toFixed(1) + ' 0\\n'); beat = now }
  last = now
}, 1)
process.stdout.write('ready\\n')
`

/** The probe's stalls within one measured window. */
export interface HostStalls {
  /** Gaps longer than 2 ms in the probe's 1 ms timer. */
  stalls: number
  /** Their total, ms. */
  stalledMs: number
  /** The longest, ms. */
  maxMs: number
}

/**
 * How much the host itself stalls while a tail is measured. A latency tail
 * on a shared two-core host has three sources: the measured system, the
 * load driver (its GC pauses are reported beside each figure), and the host
 * not running any of them. The probe is the third, measured: when an idle
 * process misses its timer by 10 ms, every process on the host may have,
 * and a tail figure from that window says as much about the host as about
 * the code. Reported per round beside the figure, never subtracted from it.
 */
export class HostProbe {
  private readonly proc: ChildProcess
  private readonly stalls: Array<[at: number, ms: number]> = []
  /** Epoch ms up to which the probe has reported. */
  private seenUpTo = 0
  private readonly waiting: Array<{ until: number, resolve: () => void }> = []

  private constructor (proc: ChildProcess) {
    this.proc = proc
    let pending = ''
    proc.stdout!.on('data', (c: Buffer) => {
      pending += c.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const [at, ms] = line.split(' ').map(Number)
        if (at == null || ms == null || !Number.isFinite(at) || !Number.isFinite(ms)) continue
        if (ms > 0) this.stalls.push([at, ms])
        this.seenUpTo = Math.max(this.seenUpTo, at + ms)
      }
      for (let i = this.waiting.length - 1; i >= 0; i--) {
        const w = this.waiting[i]!
        if (this.seenUpTo >= w.until) { this.waiting.splice(i, 1); w.resolve() }
      }
    })
  }

  static async start (): Promise<HostProbe> {
    const { proc } = await spawnPrinting(['-e', PROBE])
    return new HostProbe(proc)
  }

  /**
   * The stalls between two epoch times (ms, `performance.timeOrigin +
   * performance.now()`), once the probe has reported past `to`.
   */
  async between (from: number, to: number, signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<HostStalls> {
    if (this.seenUpTo < to) {
      await new Promise<void>((resolve, reject) => {
        const waiter = { until: to, resolve: () => { signal.removeEventListener('abort', onAbort); resolve() } }
        const onAbort = (): void => { this.waiting.splice(this.waiting.indexOf(waiter), 1); reject(signal.reason) }
        if (signal.aborted) { reject(signal.reason); return }
        signal.addEventListener('abort', onAbort, { once: true })
        this.waiting.push(waiter)
      })
    }
    let stalls = 0
    let stalledMs = 0
    let maxMs = 0
    for (const [at, ms] of this.stalls) {
      if (at + ms < from || at > to) continue
      stalls++
      stalledMs += ms
      maxMs = Math.max(maxMs, ms)
    }
    return { stalls, stalledMs: Math.round(stalledMs * 10) / 10, maxMs: Math.round(maxMs * 10) / 10 }
  }

  stop (): void {
    this.proc.kill('SIGKILL')
  }
}
