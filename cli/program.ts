import { Command } from 'commander'
import { VERSION } from '../lib/version.js'
import { connectCommand } from './commands/connect.js'
import { idCommand } from './commands/id.js'
import { initCommand } from './commands/init.js'
import { inviteCommand } from './commands/invite.js'
import { peersCommand } from './commands/peers.js'
import { startCommand } from './commands/start.js'
import { statusCommand } from './commands/status.js'
import { stopCommand } from './commands/stop.js'
import type { CommandRunner } from './commands/types.js'
import { versionCommand } from './commands/version.js'
import { membersCommand } from './commands/members.js'
import { memberCommand } from './commands/member.js'
import { labelCommand } from './commands/label/index.js'
import { placementCommand, serviceCommand } from './commands/service/index.js'
import { drainCommand } from './commands/drain.js'
import { eventsCommand } from './commands/events.js'
import { callCommand } from './commands/call.js'
import { moduleCommand } from './commands/module.js'
import { runtimeCommand } from './commands/runtime.js'
import { authCommand } from './commands/auth.js'
import { kgCommand } from './commands/kg.js'
import { fuseCommand } from './commands/fuse.js'
import { createContext, type Streams } from './context.js'

type Definer = (program: Command, run: CommandRunner) => void

/** Each definer with the top-level commands it defines (test/cli/program.spec.ts checks the names). */
export const COMMANDS: Array<[names: string[], define: Definer]> = [
  [['init'], initCommand], [['invite'], inviteCommand], [['start'], startCommand], [['id'], idCommand], [['status'], statusCommand],
  [['peers'], peersCommand], [['connect'], connectCommand], [['members'], membersCommand], [['member'], memberCommand],
  [['label'], labelCommand], [['events'], eventsCommand], [['service'], serviceCommand], [['placement'], placementCommand],
  [['call'], callCommand], [['module'], moduleCommand], [['runtime'], runtimeCommand], [['kg'], kgCommand], [['fuse'], fuseCommand],
  [['auth', 'audit'], authCommand], [['drain', 'undrain'], drainCommand], [['stop'], stopCommand], [['version'], versionCommand]
]

/**
 * The command `argv` (process.argv) runs, if it names one before any option
 * but the global `--repo` and `--api-url`: only its definer need run.
 */
export function commandOf (argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--repo' || a === '--api-url') { i++; continue }
    if (a.startsWith('--repo=') || a.startsWith('--api-url=')) continue
    if (a.startsWith('-')) return undefined
    return a
  }
  return undefined
}

/**
 * Build the `noodled` command tree. Output goes through `streams`; nothing
 * here exits. With `argv`, a command it names is the only one defined:
 * defining all of them (their options, descriptions and subcommands) was
 * 3-4 ms of every command's start; help, an unknown command and no command
 * get the whole tree.
 */
export function buildProgram (streams: Streams, argv?: string[]): Command {
  const program = new Command()
  program
    .name('noodled')
    .description('peer-to-peer mesh daemon')
    .version(VERSION, '-V, --version')
    .option('--repo <dir>', 'repo directory (default $NOODLE_PATH or ~/.noodle)')
    .option('--api-url <url>', 'talk to a daemon\'s TCP control API (http://HOST:PORT) instead of the repo\'s socket; token from $NOODLE_API_TOKEN, else the repo\'s api.token')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => { streams.out(s.replace(/\n$/, '')) },
      writeErr: (s) => { streams.err(s.replace(/\n$/, '')) }
    })

  const run: CommandRunner = (handler) => async (...args: any[]) => {
    const cmd = args[args.length - 1] as Command
    const ctx = createContext(cmd.optsWithGlobals(), streams)
    // commander passes (...positionals, options, command); handlers get (ctx, ...positionals, options)
    await handler(ctx, ...args.slice(0, -1))
  }

  const wanted = argv != null ? commandOf(argv) : undefined
  const only = COMMANDS.filter(([names]) => wanted != null && names.includes(wanted))
  for (const [, define] of only.length > 0 ? only : COMMANDS) define(program, run)
  const configure = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput(program.configureOutput())
    cmd.showHelpAfterError('(run with --help for usage)')
    cmd.commands.forEach(configure)
  }
  program.commands.forEach(configure)
  return program
}
