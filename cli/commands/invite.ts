import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { repoPaths } from '../../lib/repo/paths.js'
import { encodeInvite } from '../../lib/repo/invite.js'
import { parseDurationMs } from '../duration.js'
import type { CommandRunner } from './types.js'

export function inviteCommand (program: Command, run: CommandRunner): void {
  const invite = program.command('invite').description('let another machine join this mesh')
  invite.command('create')
    .description('print one string holding this daemon\'s addresses and, in a private mesh, its swarm key; give it to `noodled init --join` on the new machine (it is a secret until it expires)')
    .option('--ttl <duration>', 'how long it may be used: 30m, 24h, ...', '24h')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { ttl: string }) => {
      const ttlMs = parseDurationMs(opts.ttl, '--ttl')
      const { addrs } = await ctx.client.id()
      let swarmKey: string | undefined
      try {
        swarmKey = (await readFile(repoPaths(ctx.repo).swarmKey)).toString('base64')
      } catch (err: any) {
        if (err.code !== 'ENOENT') throw err
      }
      const expires = Date.now() + ttlMs
      const text = encodeInvite({ bootstrap: addrs, ...(swarmKey != null ? { swarmKey } : {}), expires })
      ctx.print({ invite: text, expires: new Date(expires).toISOString(), private: swarmKey != null }, v => v.invite)
    }))
}
