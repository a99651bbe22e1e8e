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
import { createContext, type Streams } from './context.js'

/** Build the `noodled` command tree. Output goes through `streams`; nothing here exits. */
export function buildProgram (streams: Streams): Command {
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

  for (const define of [initCommand, inviteCommand, startCommand, idCommand, statusCommand, peersCommand, connectCommand,
    membersCommand, memberCommand, labelCommand, eventsCommand, serviceCommand, placementCommand, callCommand, moduleCommand, runtimeCommand, kgCommand, authCommand, drainCommand, stopCommand, versionCommand]) {
    define(program, run)
  }
  const configure = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput(program.configureOutput())
    cmd.showHelpAfterError('(run with --help for usage)')
    cmd.commands.forEach(configure)
  }
  program.commands.forEach(configure)
  return program
}
