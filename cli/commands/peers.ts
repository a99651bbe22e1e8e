import type { Command } from 'commander'
import type { PeerEntry } from '../../lib/interface/api.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'

export function peersCommand (program: Command, run: CommandRunner): void {
  program
    .command('peers')
    .description('list connected peers with their address and latency')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const peers = await ctx.client.peers()
      ctx.print(peers, (list: PeerEntry[]) => list.length === 0
        ? 'no peers connected'
        : table(list.map(p => [p.peerId, p.addr, p.direction, p.latencyMs != null ? `${p.latencyMs} ms` : '-']), ['PEER ID', 'ADDRESS', 'DIRECTION', 'LATENCY']))
    }))
}
