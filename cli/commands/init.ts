import { Option, type Command } from 'commander'
import { PROFILES, type ProfileName } from '../../lib/repo/constants.js'
import type { ConfigInput } from '../../lib/repo/config.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { keyValues } from '../printer.js'
import { collect } from './repeatable.js'
import type { CommandRunner } from './types.js'

interface InitOptions {
  private?: boolean
  operator?: boolean
  join?: string
  profile?: ProfileName
  listen?: string[]
  bootstrap?: string[]
}

export function initCommand (program: Command, run: CommandRunner): void {
  program
    .command('init')
    .description('create a repo: config.json and a new Ed25519 identity (and, with --private, a swarm key)')
    .addOption(new Option('--profile <name>', 'network profile written to config.json').choices(PROFILES))
    .option('--listen <multiaddr>', 'listen address written to config.json (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap address written to config.json (repeatable)', collect)
    .option('--private', 'a private mesh: also create swarm.key, which every member must hold (copy it to each repo, mode 0600)')
    .option('--operator', 'create operator.key, the root of this mesh\'s capability tokens, and list it in config.json (implied by --private)')
    .option('--join <invite>', 'join the mesh an invite is for (noodled invite create): its addresses become the bootstrap list, its swarm key this repo\'s')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: InitOptions) => {
      const input: ConfigInput = {}
      if (opts.profile != null) input.profile = opts.profile
      if (opts.listen != null) input.listen = opts.listen
      if (opts.bootstrap != null) input.bootstrap = opts.bootstrap
      let swarmKey: Uint8Array | undefined
      const tokens: string[] = []
      if (opts.join != null) {
        if (opts.private === true || opts.operator === true) throw new InvalidRequestError('--private and --operator make a new mesh; --join joins an existing one: give one of them')
        const { decodeInvite } = await import('../../lib/repo/invite.js')
        const invite = decodeInvite(opts.join)
        input.bootstrap = [...invite.bootstrap, ...(opts.bootstrap ?? [])]
        if (invite.swarmKey != null) swarmKey = new Uint8Array(Buffer.from(invite.swarmKey, 'base64'))
        if (invite.operators != null) input.auth = { operators: invite.operators }
        if (invite.grant != null) tokens.push(JSON.stringify(invite.grant))
      }
      // loaded on use: key generation and config validation are not needed by other commands
      const { initRepo } = await import('../../lib/repo/init.js')
      const result = await initRepo(ctx.repo, input, { private: opts.private === true, operator: opts.private === true || opts.operator === true, tokens, ...(swarmKey != null ? { swarmKey } : {}) })
      ctx.print({ repo: ctx.repo, peerId: result.peerId, config: result.config, ...(result.swarmKey != null ? { swarmKey: result.swarmKey } : {}), ...(result.operator != null ? { operator: result.operator } : {}) }, v => [
        `initialised repo ${v.repo}`,
        keyValues([['peer id', v.peerId], ['profile', v.config.profile], ['listen', v.config.listen.join(' ')], ...(v.swarmKey != null ? [['swarm key', `${v.swarmKey} (a private mesh: every member needs this file)`] as [string, string]] : []), ...(v.operator != null ? [['operator', `${v.operator} (operator.key: the root of this mesh's capability tokens; keep it safe)`] as [string, string]] : [])]),
        `start it with: noodled start --repo ${v.repo}`
      ].join('\n'))
    }))
}
