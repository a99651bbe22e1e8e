import type { Command } from 'commander'
import { VERSION } from '../../lib/version.js'
import type { CommandRunner } from './types.js'

export function versionCommand (program: Command, run: CommandRunner): void {
  program
    .command('version')
    .description('print the noodled version')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print({ version: VERSION, node: process.versions.node }, v => `noodled ${v.version} (node ${v.node})`)
    }))
}
