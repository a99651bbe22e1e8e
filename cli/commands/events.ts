import type { Command } from 'commander'
import type { MemberEventView } from '../../lib/interface/api.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'

function line (e: MemberEventView): string[] {
  const why = e.reason == null ? '' : e.reason === 'claim' ? `claim from ${e.by ?? '?'}` : e.reason
  return [e.time, e.type, e.peerId, e.status, String(e.incarnation), why]
}

export function eventsCommand (program: Command, run: CommandRunner): void {
  program
    .command('events')
    .description('member events (join, update, suspect, failed, left, recovered); --follow streams them')
    .option('-f, --follow', 'keep streaming new events until interrupted')
    .option('--json', 'print NDJSON, one event per line')
    .action(run(async (ctx, opts: { follow?: boolean }) => {
      const header = ['TIME', 'EVENT', 'PEER ID', 'STATUS', 'INC', 'WHY']
      if (opts.follow !== true) {
        const events = await ctx.client.events()
        if (ctx.json) {
          for (const e of events) ctx.out(JSON.stringify(e))
        } else {
          ctx.out(events.length === 0 ? 'no member events yet' : table(events.map(line), header))
        }
        return
      }
      if (!ctx.json) ctx.out(header.join('  '))
      await ctx.client.followEvents(e => {
        ctx.out(ctx.json ? JSON.stringify(e) : line(e).join('  '))
      })
    }))
}
