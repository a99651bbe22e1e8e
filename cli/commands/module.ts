import type { Command } from 'commander'
import type { ModuleFetchProgressView, ModuleFetchView, ModuleInfoView, ModuleListView, ModuleResolutionView } from '../../lib/interface/api.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'
import { timeoutSignal } from '../../lib/signals.js'

/** Publishing a large module through the control API takes longer than a query. */
const PUBLISH_TIMEOUT_MS = 120_000
/** The daemon gives a fetch up to 10 minutes; the CLI waits a little longer to hear how it ended. */
const FETCH_TIMEOUT_MS = 11 * 60_000

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

const short = (peerId: string): string => peerId.length > 16 ? `…${peerId.slice(-10)}` : (peerId === '' ? '-' : peerId)

function listText (list: ModuleListView[]): string {
  return list.length === 0
    ? 'no modules in the catalog'
    : table(list.map(m => [m.name, m.version, m.stored ? (m.pinned ? 'pinned' : 'stored') : '-', short(m.publisher), m.cid]), ['NAME', 'VERSION', 'HERE', 'PUBLISHER', 'CID'])
}

/** The resolution as a tree from the root, each module once with its CID. */
function resolveText (r: ModuleResolutionView): string {
  const lines: string[] = []
  const seen = new Set<string>()
  const walk = (id: string, prefix: string, last: boolean, depth: number): void => {
    const again = seen.has(id)
    seen.add(id)
    lines.push(`${depth === 0 ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${id}  ${r.lock[id] ?? ''}${again ? ' (above)' : ''}`)
    if (again) return
    const deps = r.graph[id] ?? []
    deps.forEach((d, i) => { walk(d, depth === 0 ? '' : `${prefix}${last ? '   ' : '│  '}`, i === deps.length - 1, depth + 1) })
  }
  walk(r.root, '', true, 0)
  return lines.join('\n')
}

function fetchText (r: ModuleFetchView): string {
  const providers = new Set(r.modules.flatMap(m => m.providers.filter(p => p.blocks > 0).map(p => p.peerId)))
  const lines = r.modules.map(m => {
    const from = m.providers.filter(p => p.blocks > 0).map(p => `${short(p.peerId)} ${p.blocks}`).join(', ')
    const bad = m.providers.filter(p => p.outcome === 'bad-block').map(p => short(p.peerId))
    const what = m.fetchedBlocks === 0 ? 'already here' : `${m.fetchedBlocks}/${m.blocks} block(s), ${size(m.fetchedBytes)} in ${m.ms} ms from ${from}`
    return `${m.name}@${m.version}  ${m.cid}  ${what}${bad.length > 0 ? `; bad bytes from ${bad.join(', ')} (dropped, passed over)` : ''}`
  })
  const count = r.modules.length
  return [...lines, `fetched ${count} module version${count === 1 ? '' : 's'}, ${size(r.fetchedBytes)} from ${providers.size} provider${providers.size === 1 ? '' : 's'} in ${r.ms} ms; pinned`].join('\n')
}

/** A bar on a terminal; otherwise a line as each module starts and completes (stderr either way). */
async function fetchProgress (stream: NodeJS.WritableStream | undefined, err: (text: string) => void): Promise<{ update: (p: ModuleFetchProgressView) => void, stop: () => void }> {
  if (stream == null) {
    let announced = ''
    return {
      update: (p) => {
        if (p.blocksTotal === 0 || p.blocksDone < p.blocksTotal || announced === p.cid) return
        announced = p.cid
        err(`[${p.index}/${p.count}] ${p.module}: ${p.blocksTotal} block(s), ${size(p.bytesTotal)}`)
      },
      stop: () => {}
    }
  }
  // a CommonJS module: its exports are the namespace's default
  const cliProgress = (await import('cli-progress') as unknown as { default: typeof import('cli-progress') }).default
  const bar = new cliProgress.SingleBar({
    format: '[{index}/{count}] {module} [{bar}] {percentage}% | {doneText} of {totalText}',
    stream,
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  let current = ''
  return {
    update: (p) => {
      const payload = { index: p.index, count: p.count, module: p.module, doneText: size(p.bytesDone), totalText: p.bytesTotal === 0 ? '?' : size(p.bytesTotal) }
      if (current !== p.cid) {
        if (current !== '') bar.stop()
        current = p.cid
        bar.start(Math.max(p.bytesTotal, 1), p.bytesDone, payload)
      } else {
        bar.setTotal(Math.max(p.bytesTotal, 1))
        bar.update(p.bytesDone, payload)
      }
    },
    stop: () => {
      if (current !== '') bar.stop()
      current = ''
    }
  }
}

export function moduleCommand (program: Command, run: CommandRunner): void {
  const module = program.command('module').description('content-addressed WebAssembly modules: publish, fetch from peers, resolve, inspect, pin, collect garbage')

  module.command('publish')
    .description('validate a module directory (noodle.json and its wasm) and store it on this daemon, pinned')
    .argument('<dir>', 'directory with noodle.json')
    .option('--json', 'print JSON: { name, version, cid }')
    .action(run(async (ctx, dir: string) => {
      // loaded when the command runs: the manifest schema and the wasm checks cost every other command their start time
      const { readModuleDir } = await import('../../lib/modules/module-dir.js')
      const { manifest, wasm } = await readModuleDir(dir)
      const res = await ctx.client.publishModule(manifest, wasm, { signal: timeoutSignal(PUBLISH_TIMEOUT_MS) })
      ctx.print(res, r => `published ${r.name}@${r.version}\n${r.cid}`)
    }))

  module.command('resolve')
    .description('resolve name@range and its dependencies from the catalog: a tree, or { root, order, lock, graph } with --json')
    .argument('<ref>', 'name@range, e.g. shout@^1.0.0')
    .option('--prerelease', 'let prereleases satisfy ranges')
    .option('--json', 'print JSON')
    .action(run(async (ctx, ref: string, opts: { prerelease?: boolean }) => {
      ctx.print(await ctx.client.resolveModule(ref, { prerelease: opts.prerelease === true }), resolveText)
    }))

  module.command('ls')
    .description('module versions in the mesh\'s catalog, and which this daemon holds')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print(await ctx.client.modules(), listText)
    }))

  module.command('fetch')
    .description('fetch a module version and its dependencies from peers that hold them, verify every block, and pin them here')
    .argument('<ref>', 'name@range, name@version or root CID')
    .option('--prerelease', 'let prereleases satisfy ranges')
    .option('--json', 'print JSON: { root, modules: [...], fetchedBytes, ms }')
    .action(run(async (ctx, ref: string, opts: { prerelease?: boolean }) => {
      const progress = await fetchProgress(ctx.progress, ctx.json ? () => {} : ctx.err)
      try {
        const result = await ctx.client.fetchModule(ref, { prerelease: opts.prerelease === true, onProgress: progress.update }, { signal: timeoutSignal(FETCH_TIMEOUT_MS) })
        progress.stop()
        ctx.print(result, fetchText)
      } finally {
        progress.stop()
      }
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
