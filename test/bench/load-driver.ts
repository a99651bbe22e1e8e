import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { DriverTarget } from './driver-process.js'
import type { OpenLoopStats } from './open-loop.js'
import type { LatencyStats } from './stats.js'

const DRIVER = fileURLToPath(new URL('./driver-process.js', import.meta.url))

/**
 * One side of the RPC benchmark driven from a process of its own
 * (driver-process.ts): its client and its loops run there, so no side's
 * garbage lands in another side's windows. Commands go one at a time.
 */
export class LoadDriver {
  private readonly proc: ChildProcess
  private readonly lines: Interface
  private readonly answers: string[] = []
  private waiter?: (line: string | undefined) => void
  private exited = false

  private constructor (proc: ChildProcess) {
    this.proc = proc
    this.lines = createInterface({ input: proc.stdout! })
    this.lines.on('line', (line) => {
      if (this.waiter != null) { const w = this.waiter; this.waiter = undefined; w(line) } else this.answers.push(line)
    })
    proc.once('exit', () => {
      this.exited = true
      if (this.waiter != null) { const w = this.waiter; this.waiter = undefined; w(undefined) }
    })
  }

  static async start (target: DriverTarget): Promise<LoadDriver> {
    const proc = spawn(process.execPath, [DRIVER, JSON.stringify(target)], { stdio: ['pipe', 'pipe', 'inherit'] })
    const driver = new LoadDriver(proc)
    const first = await driver.next()
    if (first !== 'ready') {
      proc.kill('SIGKILL')
      throw new Error(`load driver for ${target.kind} did not start (${first ?? 'exited'})`)
    }
    return driver
  }

  async closed (opts: { concurrency: number, warmupMs: number, runMs: number }): Promise<LatencyStats> {
    return await this.ask({ op: 'closed', ...opts }) as LatencyStats
  }

  async open (rate: number, opts: { warmupMs: number, runMs: number }): Promise<OpenLoopStats> {
    return await this.ask({ op: 'open', rate, ...opts }) as OpenLoopStats
  }

  /** Let the driver close its client and end; killed if it has not within 10 s. */
  async stop (): Promise<void> {
    if (this.exited) return
    this.proc.stdin!.end()
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { this.proc.kill('SIGKILL'); resolve() }, 10_000)
      this.proc.once('exit', () => { clearTimeout(timer); resolve() })
    })
  }

  private async ask (cmd: Record<string, unknown>): Promise<unknown> {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n')
    const line = await this.next()
    if (line == null) throw new Error(`load driver exited during ${JSON.stringify(cmd)}`)
    const answer = JSON.parse(line)
    if (typeof answer?.error === 'string') throw new Error(`load driver: ${answer.error as string}`)
    return answer
  }

  private async next (): Promise<string | undefined> {
    if (this.answers.length > 0) return this.answers.shift()
    if (this.exited) return undefined
    return await new Promise(resolve => { this.waiter = resolve })
  }
}
