import type { Command } from 'commander'
import type { MemberView } from '../../lib/interface/api.js'
import { bytes, duration, keyValues, labelText } from '../printer.js'
import type { CommandRunner } from './types.js'

export function memberCommand (program: Command, run: CommandRunner): void {
  program
    .command('member')
    .description('show one member in detail')
    .argument('<peerId>', 'the member\'s peer id')
    .option('--json', 'print JSON')
    .action(run(async (ctx, peerId: string) => {
      const m = await ctx.client.member(peerId)
      ctx.print(m, (v: MemberView) => [
        keyValues([
          ['peer id', `${v.peerId}${v.self ? ' (this node)' : ''}`],
          ['status', `${v.status} for ${duration(v.statusForMs)}${v.suspectedBy != null ? ` (suspected by ${v.suspectedBy})` : ''}`],
          ['incarnation', String(v.incarnation)],
          ['last seen', v.self ? '-' : `${duration(v.lastSeenMs)} ago`],
          ['rtt', v.rttMs != null ? `${v.rttMs} ms` : '-'],
          ['version', v.version],
          ['cpus', String(v.resources.cpus)],
          ['load', `${v.resources.load1} ${v.resources.load5} ${v.resources.load15}`],
          ['memory', `${bytes(v.resources.memFree)} free of ${bytes(v.resources.memTotal)}`],
          ['event loop lag', `${v.resources.loopLagMs} ms (p99)`],
          ['worker slots', `${v.resources.slotsUsed} used of ${v.resources.slotsTotal}`],
          ['disk free', bytes(v.resources.diskFree)],
          ['labels', labelText(v.labels)],
          ['services', v.services.length === 0 ? '-' : v.services.join(', ')]
        ]),
        'addresses:',
        ...v.addrs.map(a => `  ${a}`)
      ].join('\n'))
    }))
}
