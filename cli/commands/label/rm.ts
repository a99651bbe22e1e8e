import type { Command } from 'commander'
import { labelText } from '../../printer.js'
import type { CommandRunner } from '../types.js'

export function labelRmCommand (label: Command, run: CommandRunner): void {
  label
    .command('rm')
    .description('remove a label from this node (also one that came from config.json)')
    .argument('<k>', 'label key')
    .option('--json', 'print JSON')
    .action(run(async (ctx, key: string) => {
      const res = await ctx.client.removeLabel(key)
      ctx.print(res, v => `labels: ${labelText(v.labels)}`)
    }))
}
