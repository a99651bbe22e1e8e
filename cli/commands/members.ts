import type { Command } from 'commander'
import type { MemberView } from '../../lib/interface/api.js'
import { bytes, duration, labelText, table } from '../printer.js'
import { collect } from './repeatable.js'
import type { CommandRunner } from './types.js'

export function membersCommand (program: Command, run: CommandRunner): void {
  program
    .command('members')
    .description('list the members this daemon knows (itself marked *), with status and resources')
    .option('--status <status>', 'only members in this status: alive, suspect, failed, left (repeatable)', collect)
    .option('--label <k=v>', 'only members with this label (k=v, or k for any value; repeatable)', collect)
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { status?: string[], label?: string[] }) => {
      const members = await ctx.client.members({ status: opts.status, labels: opts.label })
      ctx.print(members, (list: MemberView[]) => list.length === 0
        ? 'no members match'
        : table(list.map(m => [
          `${m.self ? '*' : ' '}${m.peerId}`,
          m.status,
          String(m.incarnation),
          m.self ? '-' : duration(m.lastSeenMs),
          m.rttMs != null ? `${m.rttMs}ms` : '-',
          m.resources.load1.toFixed(2),
          bytes(m.resources.memFree),
          `${m.resources.slotsUsed}/${m.resources.slotsTotal}`,
          labelText(m.labels)
        ]), [' PEER ID', 'STATUS', 'INC', 'SEEN', 'RTT', 'LOAD', 'MEM FREE', 'SLOTS', 'LABELS']))
    }))
}
