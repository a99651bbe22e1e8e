import type { Command } from 'commander'
import { InvalidLabelError } from '../../../lib/interface/errors.js'
import { labelText } from '../../printer.js'
import type { CommandRunner } from '../types.js'

export function labelSetCommand (label: Command, run: CommandRunner): void {
  label
    .command('set')
    .description('set a label on this node (persisted; advertised to the mesh at once)')
    .argument('<k=v>', 'label key and value')
    .option('--json', 'print JSON')
    .action(run(async (ctx, pair: string) => {
      const i = pair.indexOf('=')
      if (i <= 0) throw new InvalidLabelError(`expected k=v, got ${JSON.stringify(pair)}`)
      const res = await ctx.client.setLabel(pair.slice(0, i), pair.slice(i + 1))
      ctx.print(res, v => `labels: ${labelText(v.labels)}`)
    }))
}
