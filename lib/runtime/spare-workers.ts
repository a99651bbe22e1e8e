import type { Worker } from 'node:worker_threads'
import { startWorker } from './extism/index.js'

/**
 * Extism plugin workers started ahead of need. A worker thread takes about
 * 50 ms to start on a small machine, most of a module instance's cold
 * start; with one waiting, a new instance (a failover, a deploy, a
 * replaced instance) takes a started one and only instantiates its module.
 * `take` hands one out, if one is ready, and starts its replacement. Idle
 * spares do not keep the process alive.
 */
export class SpareWorkers {
  private readonly want: number
  private readonly ready: Worker[] = []
  private starting = 0
  private closed = true
  private wake: Array<() => void> = []

  constructor (want: number) {
    this.want = want
  }

  /** Start keeping spares (again after stop); a no-op while they are kept. */
  start (): void {
    if (!this.closed) return
    this.closed = false
    this.fill()
  }

  /** A started worker, or undefined when none is ready (the caller starts its own). */
  take (): Worker | undefined {
    const worker = this.ready.shift()
    this.fill()
    return worker
  }

  /** Spares ready now. */
  get size (): number {
    return this.ready.length
  }

  /** Resolves once a spare is ready (or there will be none). */
  async whenReady (options: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.ready.length === 0 && !this.closed && this.want > 0) {
      options.signal?.throwIfAborted()
      this.fill()
      await new Promise<void>(resolve => { this.wake.push(resolve) })
    }
  }

  async stop (): Promise<void> {
    this.closed = true
    for (const w of this.wake.splice(0)) w()
    await Promise.all(this.ready.splice(0).map(async w => { await w.terminate() }))
  }

  private fill (): void {
    while (!this.closed && this.ready.length + this.starting < this.want) {
      this.starting++
      startWorker().then((worker) => {
        this.starting--
        if (this.closed) {
          void worker.terminate()
          return
        }
        this.ready.push(worker)
        for (const w of this.wake.splice(0)) w()
      }, () => {
        // a worker that could not start is not retried in a loop; the next take() tries again
        this.starting--
        for (const w of this.wake.splice(0)) w()
      })
    }
  }
}
