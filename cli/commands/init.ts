import { Option, type Command } from 'commander'
import { PROFILES, type ProfileName } from '../../lib/repo/constants.js'
import type { ConfigInput } from '../../lib/repo/config.js'
import { keyValues } from '../printer.js'
import { collect } from './repeatable.js'
import type { CommandRunner } from './types.js'

interface InitOptions {
  profile?: ProfileName
  listen?: string[]
  bootstrap?: string[]
}

export function initCommand (program: Command, run: CommandRunner): void {
  program
    .command('init')
    .description('create a repo: config.json and a new Ed25519 identity')
    .addOption(new Option('--profile <name>', 'network profile written to config.json').choices(PROFILES))
    .option('--listen <multiaddr>', 'listen address written to config.json (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap address written to config.json (repeatable)', collect)
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: InitOptions) => {
      const input: ConfigInput = {}
      if (opts.profile != null) input.profile = opts.profile
      if (opts.listen != null) input.listen = opts.listen
      if (opts.bootstrap != null) input.bootstrap = opts.bootstrap
      // loaded on use: key generation and config validation are not needed by other commands
      const { initRepo } = await import('../../lib/repo/init.js')
      const result = await initRepo(ctx.repo, input)
      ctx.print({ repo: ctx.repo, peerId: result.peerId, config: result.config }, v => [
        `initialised repo ${v.repo}`,
        keyValues([['peer id', v.peerId], ['profile', v.config.profile], ['listen', v.config.listen.join(' ')]]),
        `start it with: noodled start --repo ${v.repo}`
      ].join('\n'))
    }))
}
