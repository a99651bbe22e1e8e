import type { Command } from 'commander'
import type { StatusResponse } from '../../lib/interface/api.js'
import { keyValues } from '../printer.js'
import type { CommandRunner } from './types.js'

export function statusCommand (program: Command, run: CommandRunner): void {
  program
    .command('status')
    .description('show whether the daemon runs, its uptime and peer count')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const status = await ctx.client.status()
      ctx.print(status, (v: StatusResponse) => keyValues([
        ['peer id', v.peerId],
        ['version', v.version],
        ['uptime', `${v.uptimeSec} s`],
        ['peers', String(v.peers)],
        ['profile', v.profile],
        ['repo', v.repo],
        ['pid', String(v.pid)]
      ]))
    }))
}
