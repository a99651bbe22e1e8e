import type { Command } from 'commander'
import type { ConnectResponse } from '../../lib/interface/api.js'
import type { CommandRunner } from './types.js'

export function connectCommand (program: Command, run: CommandRunner): void {
  program
    .command('connect')
    .description('dial a peer at a multiaddr (with or without /p2p/<peer id>)')
    .argument('<multiaddr>', 'address to dial')
    .option('--json', 'print JSON')
    .action(run(async (ctx, addr: string) => {
      const result = await ctx.client.connect(addr)
      ctx.print(result, (v: ConnectResponse) => `connected to ${v.peerId} at ${v.addr}`)
    }))
}
