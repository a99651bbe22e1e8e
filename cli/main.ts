#!/usr/bin/env node
import './warnings.js'
import '../lib/polyfill.js'
import { CommanderError } from 'commander'
import { ConfigError, DaemonNotRunningError } from '../lib/interface/errors.js'
import { buildProgram } from './program.js'

/** Exit codes: 0 success, 1 failure, 2 usage error (docs/design.md, "Exit codes and errors"). */
const EXIT_FAILURE = 1
const EXIT_USAGE = 2

function errorText (err: any): string {
  if (err instanceof DaemonNotRunningError || err instanceof ConfigError) {
    return err.message
  }
  if (err?.code === 'EADDRINUSE') {
    return `listen address already in use: ${err.message}`
  }
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`
}

async function main (argv: string[]): Promise<number> {
  const program = buildProgram({
    out: (s) => { process.stdout.write(s + '\n') },
    err: (s) => { process.stderr.write(s + '\n') },
    env: process.env,
    stdin: async () => {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    },
    ...(process.stderr.isTTY ? { progress: process.stderr } : {})
  }, argv)
  try {
    await program.parseAsync(argv)
    return 0
  } catch (err: any) {
    if (err instanceof CommanderError) {
      // help and --version "errors" are successes; the rest are usage errors already printed by commander
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    process.stderr.write(`error: ${errorText(err)}\n`)
    return EXIT_FAILURE
  }
}

process.exitCode = await main(process.argv)
