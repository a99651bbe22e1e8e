import { setTimeout as sleep } from 'node:timers/promises'

export interface WaitOptions {
  /** @default 20_000 */
  timeoutMs?: number
  /** @default 50 */
  intervalMs?: number
  /** what was awaited, for the error */
  what?: string
}

/**
 * Poll `check` until it returns a value other than undefined/false, or fail
 * after the deadline with the last error. The only way tests wait: never a
 * bare sleep.
 */
export async function waitFor<T> (check: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000)
  let lastError: unknown
  while (true) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: last error ${lastError.message}` : ''
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${why}`)
    }
    await sleep(opts.intervalMs ?? 50)
  }
}
