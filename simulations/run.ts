#!/usr/bin/env node
import '../lib/polyfill.js'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { fileBase, runMarkdown, type RunReport } from './harness/markdown.js'
import { apiTimeoutFor, Network, readyTimeoutFor } from './harness/network.js'
import { NetnsLab, netnsUnavailable } from './harness/netns.js'
import { echoModule } from './harness/modules.js'
import { ResourceSampler } from './harness/resources.js'
import { seededRandom } from './harness/rng.js'
import { aliveSvg, cdfSvg, lineSvg, quantiles } from './harness/svg.js'
import { aliveTimeline } from './harness/timeline.js'
import { bootstrapLoss } from './scenarios/bootstrap-loss.js'
import { churn } from './scenarios/churn.js'
import { consoleScenario } from './scenarios/console.js'
import { crash } from './scenarios/crash.js'
import { distributionScenario } from './scenarios/distribution.js'
import { failover } from './scenarios/failover.js'
import { idle } from './scenarios/idle.js'
import { join as joinScenario } from './scenarios/join.js'
import { partition } from './scenarios/partition.js'
import { pause } from './scenarios/pause.js'
import { rpcLoad } from './scenarios/rpc-load.js'
import type { Scenario } from './scenarios/types.js'
import { LOG_LEVELS, parseConfig, type ConfigInput, type LogLevel } from '../lib/repo/config.js'
import { machineInfo } from './harness/machine.js'

const SCENARIOS: Record<string, Scenario> = {
  join: joinScenario,
  crash,
  pause,
  idle,
  churn,
  'rpc-load': rpcLoad,
  failover,
  distribution: distributionScenario,
  partition,
  'bootstrap-loss': bootstrapLoss,
  console: consoleScenario
}
/**
 * `all`: every scenario on one network, join first (it measures the start),
 * bootstrap-loss last; partition only with `--netns` (on loopback `all`
 * stays on loopback rather than moving every scenario into namespaces).
 */
const ALL = ['join', 'idle', 'crash', 'pause', 'churn', 'rpc-load', 'failover', 'distribution', 'partition', 'bootstrap-loss']
/** scenarios that need each daemon in its own network namespace */
const NEEDS_NETNS = new Set(['partition'])
/** config the scenarios need of every daemon: the console scenario opens the first daemon's web console */
const NEEDS_CONFIG: Record<string, ConfigInput> = { console: { ui: '127.0.0.1:0' } }
/** scenarios that deploy the example echo module (`npm run build:examples`) */
const NEEDS_ECHO = new Set(['rpc-load', 'failover', 'distribution', 'partition'])
const USAGE = `usage: npm run sim -- --scenario NAME[,NAME...]|all --nodes N [--netns] [--seed S] [--repeats R] [--concurrency C] [--out DIR] [--config JSON] [--events FILE] [--log-level LEVEL] [--debug NAMESPACES] [--logs DIR]
scenarios: ${Object.keys(SCENARIOS).join(', ')}`

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
        netns: { type: 'boolean', default: false },
        out: { type: 'string' },
        config: { type: 'string' },
        events: { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
        logs: { type: 'string' },
        debug: { type: 'string' },
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
  const names = args.scenario === 'all' ? ALL.filter(n => args.netns === true || !NEEDS_NETNS.has(n)) : (args.scenario ?? '').split(',').filter(s => s !== '')
  const unknown = names.filter(n => SCENARIOS[n] == null)
  const nodes = Number(args.nodes)
  const seed = Number(args.seed)
  const repeats = Number(args.repeats)
  const concurrency = Number(args.concurrency)
  if (names.length === 0 || unknown.length > 0 || !Number.isInteger(nodes) || nodes < 3 || nodes > 200 || !Number.isInteger(seed) || !Number.isInteger(repeats) || repeats < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`${names.length === 0 || unknown.length > 0 ? `unknown scenario ${JSON.stringify(unknown[0] ?? args.scenario ?? '')}` : 'bad --nodes (3..200), --seed, --repeats or --concurrency'}\n${USAGE}\n`)
    return 2
  }
  if (names.includes('join') && names[0] !== 'join') {
    process.stderr.write(`join measures the network's start: list it first\n${USAGE}\n`)
    return 2
  }
  const logLevel = args['log-level'] as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    process.stderr.write(`bad --log-level ${JSON.stringify(logLevel)}: one of ${LOG_LEVELS.join(', ')}\n${USAGE}\n`)
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
  // what a scenario itself needs is not a custom config: the run keeps its plain name and command
  let networkConfig = config
  for (const name of names) if (NEEDS_CONFIG[name] != null) networkConfig = { ...networkConfig, ...NEEDS_CONFIG[name] }

  // a missing example module is found now, not after minutes of starting daemons
  if (names.some(n => NEEDS_ECHO.has(n))) {
    try {
      await echoModule('sim-check')
    } catch (err: any) {
      process.stderr.write(`${err.message as string}\n`)
      return 1
    }
  }

  // namespaces: asked for, or needed by a scenario; without them those scenarios are skipped
  const wantNetns = args.netns === true || names.some(n => NEEDS_NETNS.has(n))
  const netnsWhyNot = wantNetns ? await netnsUnavailable() : undefined
  if (args.netns === true && netnsWhyNot != null) {
    process.stderr.write(`--netns: ${netnsWhyNot}\n`)
    return 2
  }
  const lab = wantNetns && netnsWhyNot == null ? new NetnsLab() : undefined

  const outDir = resolve(args.out ?? fileURLToPath(new URL('../../simulations/results/', import.meta.url)))
  await mkdir(outDir, { recursive: true })
  const dir = await mkdtemp(join(tmpdir(), 'nsim-'))
  // the daemons' whole logs, kept after the run (the repos are not)
  const logDir = args.logs != null ? resolve(args.logs) : undefined
  if (logDir != null) await mkdir(logDir, { recursive: true })
  const bar = new cliProgress.SingleBar({
    format: `{scenario} n=${nodes} [{bar}] {value}/{total} {phase}`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 2000,
    hideCursor: true
  }, cliProgress.Presets.shades_classic)
  bar.start(nodes, 0, { phase: 'starting daemons', scenario: names[0] })
  const net = new Network({ dir, config: networkConfig, concurrency, netns: lab, logLevel, logDir, debug: args.debug, apiTimeoutMs: apiTimeoutFor(nodes), readyTimeoutMs: readyTimeoutFor(nodes), onProgress: (started, total) => { bar.setTotal(total); bar.update(started, { phase: 'starting daemons' }) } })
  const cleanup = async (): Promise<void> => {
    await net.stop()
    await lab?.teardown()
    await rm(dir, { recursive: true, force: true })
  }
  // daemons and namespaces go with the run, also when it is interrupted or terminated
  let interrupted = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true
      void cleanup().finally(() => { process.exitCode = signal === 'SIGINT' ? 130 : 143 })
    })
  }

  const machine = machineInfo()
  const command = `npm run sim -- --scenario ${names.join(',')} --nodes ${nodes}${lab != null ? ' --netns' : ''} --seed ${seed} --repeats ${repeats}${config != null ? ` --config '${args.config ?? ''}'` : ''}`
  const mode = lab != null ? 'netns' : 'loopback'
  let failures = 0
  try {
    if (lab != null) await lab.setup(nodes + 1)
    const random = seededRandom(seed)
    for (const name of names) {
      if (interrupted) break
      const started = new Date()
      const report: RunReport = { scenario: name, nodes, mode, seed, repeats, ...(config != null ? { config } : {}), command, startedAt: started.toISOString(), durationSec: 0, machine }
      const base = join(outDir, fileBase(report))
      if (NEEDS_NETNS.has(name) && lab == null) {
        report.skipped = `needs network namespaces: ${netnsWhyNot ?? 'unavailable'}`
        process.stderr.write(`${name}: skipped, ${report.skipped}\n`)
        await writeRun(base, report, {})
        continue
      }
      bar.update({ scenario: name })
      const marks: Array<[number, string]> = []
      const sampler = new ResourceSampler(net)
      sampler.start()
      let result
      try {
        result = await SCENARIOS[name]!({
          net,
          nodes,
          seed,
          repeats,
          random,
          netns: lab,
          mark: (label, at = Date.now()) => { marks.push([at, label]) },
          progress: (phase, value, total) => {
            if (total != null) bar.setTotal(total)
            bar.update(value ?? bar.getProgress() * bar.getTotal(), { phase })
          }
        })
      } catch (err: any) {
        failures++
        report.error = String(err.stack ?? err.message)
        process.stderr.write(`\n${name} failed: ${report.error}\n`)
        // what each daemon said (warnings and errors): the first place to look
        const logs = net.nodes.map(n => `== node ${n.index} ${n.peerId}${n.killed ? ' (killed)' : ''}\n${n.daemon.stderr.slice(-4000)}`)
        await writeFile(`${base}-daemons.log`, logs.join('\n'))
        process.stderr.write(`wrote the daemons' stderr to ${base}-daemons.log\n`)
      }
      const resources = await sampler.stop()
      const ended = Date.now()
      report.durationSec = Math.round((ended - started.getTime()) / 1000)
      const { series, ...resourceFigures } = resources
      report.resources = resourceFigures
      const timeline = aliveTimeline(net, started.getTime(), ended)
      const relMarks = marks.map(([at, label]) => [Math.round((at - started.getTime()) / 100) / 10, label] as [number, string])
      const svgs: Record<string, string> = {
        [`${fileBase(report)}-alive.svg`]: aliveSvg(`${name}: members each daemon held alive, ${nodes} daemons`, timeline, relMarks),
        [`${fileBase(report)}-cpu.svg`]: lineSvg({
          title: `${name}: CPU per daemon, ${nodes} daemons`,
          xLabel: 's since the scenario started',
          yLabel: '% of a core',
          marks: relMarks,
          lines: [
            { name: 'mean over daemons', points: series.map(p => [p.t / 1000, p.cpuPercentMean]), color: '#1f77b4', width: 2 },
            { name: 'busiest daemon', points: series.map(p => [p.t / 1000, p.cpuPercentMax]), color: '#d62728', width: 1 }
          ]
        })
      }
      if (result != null) {
        report.goals = result.goals
        report.headline = result.headline
        report.summary = result.summary
        const notes = result.goals.map(g => `${g.met ? 'met' : 'MISSED'}: ${g.name} = ${g.value} (goal ${g.target})`)
        svgs[`${fileBase(report)}.svg`] = cdfSvg({ ...result.plot, notes })
      }
      // the plot's samples as at most 500 quantiles each: enough to redraw it, small enough to commit
      const plot = result == null ? undefined : { ...result.plot, series: result.plot.series.map(s => ({ name: s.name, n: s.values.length, values: quantiles(s.values).map(v => Math.round(v * 100) / 100) })) }
      await writeRun(base, { ...report, files: Object.keys(svgs).sort() }, svgs, { resourceSeries: series, timeline, marks: relMarks, plot })
      process.stdout.write(JSON.stringify({ scenario: name, nodes, mode, goals: report.goals, headline: report.headline, error: report.error?.split('\n')[0] }) + '\n')
    }
    bar.stop()
    return interrupted ? 130 : failures > 0 ? 1 : 0
  } catch (err: any) {
    bar.stop()
    process.stderr.write(`simulation failed: ${err.stack ?? err.message}\n`)
    return 1
  } finally {
    if (args.events != null) {
      // every member event every daemon reported, for tracing verdicts (large: not kept with the
      // results); written for a failed run too, which is when it is needed most
      const lines = net.nodes.flatMap(n => n.events.map(e => JSON.stringify({ observer: n.peerId, index: n.index, ...e })))
      await writeFile(resolve(args.events), lines.join('\n') + '\n')
      process.stderr.write(`wrote ${lines.length} events to ${resolve(args.events)}\n`)
    }
    await cleanup()
  }
}

/** NAME.json (the report and, apart, the data behind the plots), NAME.md and the SVGs. */
async function writeRun (base: string, report: RunReport, svgs: Record<string, string>, data: Record<string, unknown> = {}): Promise<void> {
  const dir = resolve(base, '..')
  // the report readable, the plot data (time series of every daemon) on one line
  const head = JSON.stringify(report, null, 1)
  await writeFile(`${base}.json`, `${head.slice(0, -2)},\n "data": ${JSON.stringify(data)}\n}\n`)
  await writeFile(`${base}.md`, runMarkdown(report))
  for (const [file, svg] of Object.entries(svgs)) await writeFile(join(dir, file), svg)
  process.stderr.write(`wrote ${base}.{json,md}${Object.keys(svgs).length > 0 ? ` and ${Object.keys(svgs).length} SVG` : ''}\n`)
}

process.exitCode = await main()
