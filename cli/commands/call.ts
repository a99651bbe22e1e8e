import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { CallResponse } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { DEFAULT_TIMEOUT_MS } from '../../lib/rpc/constants.js'
import { parseDurationMs } from '../duration.js'
import type { CommandContext } from '../context.js'
import type { CommandRunner } from './types.js'
import { timeoutSignal } from '../../lib/signals.js'

interface CallOptions {
  timeout?: string
  idempotent?: boolean
}

/** The daemon's own control request may take the call's deadline plus this. */
const API_MARGIN_MS = 5_000

/** `text`, `@file` (its bytes) or `-` (standard input). */
async function readInput (ctx: CommandContext, arg: string | undefined): Promise<Buffer> {
  if (arg == null) return Buffer.alloc(0)
  if (arg === '-') return ctx.stdin()
  if (arg.startsWith('@')) {
    try {
      return await readFile(arg.slice(1))
    } catch (err: any) {
      throw new InvalidRequestError(`cannot read ${arg.slice(1)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`)
    }
  }
  return Buffer.from(arg, 'utf8')
}

function callText (r: CallResponse): string {
  if (r.output != null) return r.output
  return `(binary output, ${Buffer.from(r.outputBase64, 'base64').length} bytes: use --json for it in base64)`
}

export function callCommand (program: Command, run: CommandRunner): void {
  program
    .command('call <service> <fn> [input]')
    .description('call a function of a mesh service on one of its live instances and print the output (input: text, @file or - for stdin)')
    .option('--timeout <duration>', 'deadline for the call, e.g. 500ms or 5s (default 10s)')
    .option('--idempotent', 'the call may run more than once: retry it on another instance if its instance fails')
    .option('--json', 'print { service, fn, instance, attempts, elapsedMs, output?, outputBase64 }')
    .action(run(async (ctx, service: string, fn: string, inputArg: string | undefined, opts: CallOptions) => {
      const timeoutMs = opts.timeout != null ? parseDurationMs(opts.timeout, '--timeout') : DEFAULT_TIMEOUT_MS
      if (timeoutMs < 1) throw new InvalidRequestError('--timeout must be at least 1ms')
      const input = await readInput(ctx, inputArg)
      const res = await ctx.client.call({
        service,
        fn,
        inputBase64: input.toString('base64'),
        timeoutMs,
        idempotent: opts.idempotent === true
      }, { signal: timeoutSignal(timeoutMs + API_MARGIN_MS) })
      ctx.print(res, callText)
    }))
}
