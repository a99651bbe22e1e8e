import type { Command } from 'commander'
import type { RuntimeServiceView } from '../../lib/interface/api.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'

function runtimeText (list: RuntimeServiceView[]): string {
  if (list.length === 0) return 'no module services run here'
  return table(list.map(s => [
    s.service,
    s.module ?? s.ref,
    s.state === 'failed' ? `failed: ${s.error ?? ''}` : s.state,
    `${s.instances}/${s.slots}`,
    String(s.counters?.calls ?? 0),
    String(s.counters?.errors ?? 0),
    String(s.counters?.restarts ?? 0),
    s.grant == null ? '-' : [s.grant.log ? 'log' : '', s.grant.kv ? 'kv' : '', ...s.grant.call.map(c => `call:${c}`), ...s.grant.http.map(h => `http:${h}`)].filter(Boolean).join(',') || 'none'
  ]), ['SERVICE', 'MODULE', 'STATE', 'INSTANCES/SLOTS', 'CALLS', 'ERRORS', 'RESTARTS', 'GRANTED'])
}

export function runtimeCommand (program: Command, run: CommandRunner): void {
  program
    .command('runtime')
    .description('module services this daemon runs: module, state, instances, calls, errors, restarts, what each is granted')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print(await ctx.client.runtime(), runtimeText)
    }))
}
