import type { Command } from 'commander'
import { labelText } from '../../printer.js'
import type { CommandRunner } from '../types.js'
import { labelRmCommand } from './rm.js'
import { labelSetCommand } from './set.js'

export function labelCommand (program: Command, run: CommandRunner): void {
  const label = program
    .command('label')
    .description('show, set or remove this node\'s labels')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const res = await ctx.client.labels()
      ctx.print(res, v => `labels: ${labelText(v.labels)}`)
    }))
  labelSetCommand(label, run)
  labelRmCommand(label, run)
}
