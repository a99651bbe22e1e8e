import type { Command } from 'commander'
import type { IdResponse } from '../../lib/interface/api.js'
import { keyValues } from '../printer.js'
import type { CommandRunner } from './types.js'

export function idCommand (program: Command, run: CommandRunner): void {
  program
    .command('id')
    .description('show this daemon\'s peer id, addresses and protocols')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const id = await ctx.client.id()
      ctx.print(id, (v: IdResponse) => [
        keyValues([['peer id', v.peerId], ['agent', v.agentVersion]]),
        'addresses:',
        ...v.addrs.map(a => `  ${a}`),
        'protocols:',
        ...v.protocols.map(p => `  ${p}`)
      ].join('\n'))
    }))
}
