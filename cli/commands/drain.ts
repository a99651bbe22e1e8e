import type { Command } from 'commander'
import { DRAIN_LABEL } from '../../lib/interface/api.js'
import type { CommandRunner } from './types.js'

/** `noodled drain` / `undrain`: take this node out of placement (its services move away) and back. */
export function drainCommand (program: Command, run: CommandRunner): void {
  program
    .command('drain')
    .description(`take this node out of placement: its services move to other members (sets the label ${DRAIN_LABEL}=true)`)
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const res = await ctx.client.setLabel(DRAIN_LABEL, 'true')
      ctx.print({ draining: true, labels: res.labels }, () => 'draining: this node gets no replicas; `noodled undrain` to take it back')
    }))
  program
    .command('undrain')
    .description('put a drained node back into placement')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const labels = (await ctx.client.labels()).labels
      const res = DRAIN_LABEL in labels ? await ctx.client.removeLabel(DRAIN_LABEL) : { labels }
      ctx.print({ draining: false, labels: res.labels }, () => 'not draining: this node takes replicas again')
    }))
}
