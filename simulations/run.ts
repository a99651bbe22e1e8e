#!/usr/bin/env node
import '../lib/polyfill.js'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { VERSION } from '../lib/version.js'
import { Network } from './harness/network.js'
import { seededRandom } from './harness/rng.js'
import { cdfSvg } from './harness/svg.js'
import { bootstrapLoss } from './scenarios/bootstrap-loss.js'
import { crash } from './scenarios/crash.js'
import { join as joinScenario } from './scenarios/join.js'
import { pause } from './scenarios/pause.js'
import type { Scenario } from './scenarios/types.js'
import { parseConfig, type ConfigInput } from '../lib/repo/config.js'

const SCENARIOS: Record<string, Scenario> = { join: joinScenario, crash, pause, 'bootstrap-loss': bootstrapLoss }
const USAGE = `usage: npm run sim -- --scenario ${Object.keys(SCENARIOS).join('|')} --nodes N [--seed S] [--repeats R] [--concurrency C] [--out DIR] [--config JSON] [--events FILE]`

async function main (): Promise<number> {
  let args
  try {
    args = parseArgs({
      options: {
        scenario: { type: 'string' },
        nodes: { type: 'string', default: '20' },
        seed: { type: 'string', default: '1' },
        repeats: { type: 'string', default: '5' },
        concurrency: { type: 'string', default: '4' },
        out: { type: 'string' },
        config: { type: 'string' },
        events: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err: any) {
    process.stderr.write(`${err.message}\n${USAGE}\n`)
    return 2
  }
  if (args.help === true) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  const scenario = SCENARIOS[args.scenario ?? '']
  const nodes = Number(args.nodes)
  const seed = Number(args.seed)
  const repeats = Number(args.repeats)
  const concurrency = Number(args.concurrency)
  if (scenario == null || !Number.isInteger(nodes) || nodes < 3 || nodes > 200 || !Number.isInteger(seed) || !Number.isInteger(repeats) || repeats < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`${scenario == null ? `unknown scenario ${JSON.stringify(args.scenario)}` : 'bad --nodes (3..200), --seed, --repeats or --concurrency'}\n${USAGE}\n`)
    return 2
  }
  let config: ConfigInput | undefined
  if (args.config != null) {
    try {
      config = parseConfig(JSON.parse(args.config), '--config')
    } catch (err: any) {
      process.stderr.write(`bad --config: ${err.message}\n${USAGE}\n`)
      return 2
    }
  }
  const outDir = resolve(args.out ?? fileURLToPath(new URL('../../simulations/results/', import.meta.url)))
  const dir = await mkdtemp(join(tmpdir(), 'nsim-'))

  const bar = new cliProgress.SingleBar({
    format: `${args.scenario} n=${nodes} [{bar}] {value}/{total} {phase}`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 2000,
    hideCursor: true
  }, cliProgress.Presets.shades_classic)
  bar.start(nodes, 0, { phase: 'starting daemons' })
  const net = new Network({ dir, config, concurrency, onProgress: (started) => { bar.update(started, { phase: 'starting daemons' }) } })
  const onSignal = (): void => { void net.stop().finally(() => { void rm(dir, { recursive: true, force: true }) }) }
  process.once('SIGINT', onSignal)

  const started = new Date()
  try {
    const result = await scenario({
      net,
      nodes,
      seed,
      repeats,
      random: seededRandom(seed),
      progress: (phase, value, total) => {
        if (total != null) bar.setTotal(total)
        bar.update(value ?? bar.getProgress() * bar.getTotal(), { phase })
      }
    })
    bar.stop()
    const report = {
      scenario: args.scenario,
      nodes,
      seed,
      repeats,
      ...(config != null ? { config } : {}),
      startedAt: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, noodled: VERSION },
      goals: result.goals,
      summary: result.summary,
      // the plotted samples, so the SVG can be redrawn from the JSON alone
      plot: result.plot
    }
    await mkdir(outDir, { recursive: true })
    const base = join(outDir, `${args.scenario}-n${nodes}${config != null ? '-custom' : ''}`)
    await writeFile(`${base}.json`, JSON.stringify(report, null, 2) + '\n')
    const notes = result.goals.map(g => `${g.met ? 'met' : 'MISSED'}: ${g.name} = ${g.value} (goal ${g.target})`)
    await writeFile(`${base}.svg`, cdfSvg({ ...result.plot, notes }))
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    process.stderr.write(`wrote ${base}.json and ${base}.svg\n`)
    return 0
  } catch (err: any) {
    bar.stop()
    process.stderr.write(`simulation failed: ${err.stack ?? err.message}\n`)
    return 1
  } finally {
    if (args.events != null) {
      // every member event every daemon reported, for tracing verdicts (large: not kept with the
      // results); written for a failed run too, which is when it is needed most
      const lines = net.nodes.flatMap(n => n.events.map(e => JSON.stringify({ observer: n.peerId, ...e })))
      await writeFile(resolve(args.events), lines.join('\n') + '\n')
      process.stderr.write(`wrote ${lines.length} events to ${resolve(args.events)}\n`)
    }
    await net.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
