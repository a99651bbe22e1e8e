import { Option, type Command } from 'commander'
import { LOG_LEVELS, PROFILES, type LogLevel, type ProfileName } from '../../lib/repo/constants.js'
import { collect } from './repeatable.js'
import type { CommandRunner } from './types.js'

interface StartOptions {
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  profile?: ProfileName
  logLevel?: LogLevel
  gateway?: string
  api?: string
  ui?: string
}

export function startCommand (program: Command, run: CommandRunner): void {
  program
    .command('start')
    .description('run the daemon in the foreground (initialises the repo if new)')
    .option('--listen <multiaddr>', 'listen address, repeatable (default /ip4/0.0.0.0/tcp/4010)', collect)
    .option('--announce <multiaddr>', 'address to announce instead of the listen addresses, repeatable', collect)
    .option('--bootstrap <multiaddr>', 'peer to join through, repeatable; /p2p/<id> optional', collect)
    .addOption(new Option('--profile <name>', 'network profile (local: many daemons on one host)').choices(PROFILES))
    .addOption(new Option('--log-level <level>', 'log level of the JSON logs on stderr').choices(LOG_LEVELS))
    .option('--gateway <host:port>', 'serve the HTTP gateway there: POST /svc/<service>/<fn> calls a mesh service')
    .option('--ui <host:port>', 'serve the web console there (port 0: a free one); read-only without the API token')
    .option('--api <host:port>', 'also serve the control API over TCP there; every request needs Authorization: Bearer <the repo\'s api.token>')
    .action(run(async (ctx, opts: StartOptions) => {
      // loaded here so query commands never pay for libp2p
      const { Daemon, handleSignals } = await import('../../daemon/index.js')
      const daemon = await Daemon.start({ repo: ctx.repo, ...opts })
      handleSignals(daemon)
      const id = daemon.id()
      ctx.out([
        `noodled ${id.agentVersion.split('/')[1] ?? ''} started`,
        `peer id:  ${id.peerId}`,
        `repo:     ${daemon.paths.root}`,
        `api:      ${daemon.paths.apiSocket}`,
        `profile:  ${daemon.config.profile}`,
        ...(daemon.gatewayUrl != null ? [`gateway:  ${daemon.gatewayUrl}`] : []),
        ...(daemon.uiUrl != null ? [`ui:       ${daemon.uiUrl}`] : []),
        ...(daemon.apiUrl != null ? [`api tcp:  ${daemon.apiUrl} (bearer token in ${daemon.paths.apiToken})`] : []),
        'listening on:',
        ...id.addrs.map(a => `  ${a}`),
        'daemon is ready'
      ].join('\n'))
      await daemon.stopped
    }))
}
