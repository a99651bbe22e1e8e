import type { Command } from 'commander'
import type { LocalModuleView, ModuleInfoView } from '../../lib/interface/api.js'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'

/** Publishing a large module through the control API takes longer than a query. */
const PUBLISH_TIMEOUT_MS = 120_000

const size = (bytes: number): string => bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`

function infoText (m: ModuleInfoView): string {
  const manifest = m.manifest as { description?: string, exports?: string[], dependencies?: Record<string, string>, capabilities?: Record<string, unknown>, resources?: Record<string, unknown>, license?: string }
  const deps = Object.entries(manifest.dependencies ?? {})
  return [
    `${m.name}@${m.version}${m.pinned ? ' (pinned)' : ''}`,
    `cid:          ${m.cid}`,
    ...(manifest.description != null ? [`description:  ${manifest.description}`] : []),
    `wasm:         ${m.wasm.cid} (${size(m.wasm.size)}, ${m.wasm.chunks.length} block${m.wasm.chunks.length === 1 ? '' : 's'})`,
    `exports:      ${(manifest.exports ?? []).join(', ')}`,
    `dependencies: ${deps.length === 0 ? 'none' : deps.map(([n, r]) => `${n}@${r}`).join(', ')}`,
    `capabilities: ${JSON.stringify(manifest.capabilities ?? {})}`,
    `resources:    ${JSON.stringify(manifest.resources ?? {})}`,
    ...(manifest.license != null ? [`license:      ${manifest.license}`] : [])
  ].join('\n')
}

function listText (list: LocalModuleView[]): string {
  return list.length === 0
    ? 'no modules on this node'
    : table(list.map(m => [m.name, m.version, size(m.size), m.pinned ? 'yes' : 'no', m.cid]), ['NAME', 'VERSION', 'SIZE', 'PINNED', 'CID'])
}

export function moduleCommand (program: Command, run: CommandRunner): void {
  const module = program.command('module').description('content-addressed WebAssembly modules: publish, inspect, pin, collect garbage')

  module.command('publish')
    .description('validate a module directory (noodle.json and its wasm) and store it on this daemon, pinned')
    .argument('<dir>', 'directory with noodle.json')
    .option('--json', 'print JSON: { name, version, cid }')
    .action(run(async (ctx, dir: string) => {
      const { manifest, wasm } = await readModuleDir(dir)
      const res = await ctx.client.publishModule(manifest, wasm, { signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) })
      ctx.print(res, r => `published ${r.name}@${r.version}\n${r.cid}`)
    }))

  module.command('ls')
    .description('module versions stored on this daemon')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print(await ctx.client.modules(), listText)
    }))

  module.command('info')
    .description('one module version: manifest, wasm, blocks')
    .argument('<ref>', 'root CID or name@version')
    .option('--json', 'print JSON')
    .action(run(async (ctx, ref: string) => {
      ctx.print(await ctx.client.moduleInfo(ref), infoText)
    }))

  for (const pin of [true, false]) {
    module.command(pin ? 'pin' : 'unpin')
      .description(pin ? 'keep a module version through gc' : 'let gc remove a module version')
      .argument('<ref>', 'root CID or name@version')
      .option('--json', 'print JSON')
      .action(run(async (ctx, ref: string) => {
        ctx.print(await ctx.client.pinModule(ref, pin), m => `${m.name}@${m.version} ${m.pinned ? 'pinned' : 'unpinned'}`)
      }))
  }

  module.command('gc')
    .description('delete the blocks of module versions that are not pinned')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print(await ctx.client.moduleGc(), r => `removed ${r.removedBlocks} block(s), ${size(r.freedBytes)}`)
    }))
}
