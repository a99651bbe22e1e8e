import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import { DaemonNotRunningError, TimeoutError } from '../../lib/interface/errors.js'
import type { CommandRunner } from './types.js'
import { timeoutSignal } from '../../lib/signals.js'

/** How long `noodled stop` waits for the daemon to be gone before giving up. */
const STOP_WAIT_MS = 10_000
const POLL_MS = 50

export function stopCommand (program: Command, run: CommandRunner): void {
  program
    .command('stop')
    .description('stop the daemon and wait until it has exited')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      await ctx.client.shutdown()
      const deadline = Date.now() + STOP_WAIT_MS
      // the daemon answers before stopping; it is gone once its socket no longer answers
      while (true) {
        try {
          await ctx.client.health({ signal: timeoutSignal(1_000) })
        } catch (err) {
          if (err instanceof DaemonNotRunningError) break
        }
        if (Date.now() > deadline) {
          throw new TimeoutError(`daemon at ${ctx.repo} still answers ${STOP_WAIT_MS} ms after being asked to stop`)
        }
        await sleep(POLL_MS)
      }
      ctx.print({ stopped: true, repo: ctx.repo }, v => `daemon at ${v.repo} stopped`)
    }))
}
