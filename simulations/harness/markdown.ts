import type { Distribution } from './stats.js'

/** The JSON a run writes for one scenario (simulations/results/NAME-nN.json). */
export interface RunReport {
  scenario: string
  nodes: number
  mode: 'loopback' | 'netns'
  seed: number
  repeats: number
  config?: unknown
  command: string
  startedAt: string
  durationSec: number
  machine: { cpus: number, cpuModel?: string, node: string, noodled: string, commit?: string, dirty?: boolean, loadavg?: number[] }
  /** set when the scenario could not run here, with the reason */
  skipped?: string
  /** set when the scenario failed, with the error */
  error?: string
  goals?: Array<{ name: string, target: string, value: number | string, met: boolean }>
  headline?: Record<string, number | string>
  summary?: Record<string, unknown>
  resources?: { cpuPercentOfCore: Distribution, rssMB: Distribution, networkCpuPercentMean: number, load1Max: number }
  files?: string[]
}

function cell (v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '-'
  if (v == null) return '-'
  return String(v).replace(/\|/g, '\\|')
}

function isDistribution (v: unknown): v is Distribution {
  return typeof v === 'object' && v != null && 'p50' in v && 'p99' in v && 'n' in v
}

/** One scenario run as markdown: what ran, goals, headline figures, resources, the rest of the summary, the plots. */
export function runMarkdown (r: RunReport): string {
  const out: string[] = []
  out.push(`# ${r.scenario}, ${r.nodes} daemons (${r.mode})`, '')
  out.push(`\`${r.command}\`, ${r.startedAt}, ${r.durationSec} s; ${r.machine.cpus} x ${r.machine.cpuModel ?? '?'}, Node ${r.machine.node}, noodled ${r.machine.noodled}${r.machine.commit != null ? ` at ${r.machine.commit.slice(0, 10)}${r.machine.dirty === true ? ' (uncommitted changes)' : ''}` : ''}${r.machine.loadavg != null ? `, load ${r.machine.loadavg.join(' ')} at the start` : ''}; seed ${r.seed}`, '')
  if (r.skipped != null) { out.push(`**Skipped:** ${r.skipped}`, ''); return out.join('\n') }
  if (r.error != null) { out.push('**Failed:**', '', '```', r.error, '```', ''); return out.join('\n') }
  if (r.goals != null && r.goals.length > 0) {
    out.push('| goal | target | value | |', '|---|---|---|---|')
    for (const g of r.goals) out.push(`| ${cell(g.name)} | ${cell(g.target)} | ${cell(g.value)} | ${g.met ? 'met' : '**missed**'} |`)
    out.push('')
  }
  if (r.headline != null) {
    out.push('| figure | value |', '|---|---|')
    for (const [k, v] of Object.entries(r.headline)) out.push(`| ${cell(k)} | ${cell(v)} |`)
    out.push('')
  }
  if (r.resources != null) {
    const { cpuPercentOfCore: c, rssMB: m } = r.resources
    out.push('Resources per daemon over the scenario (from /proc, every 5 s):', '')
    out.push('| | p50 | p90 | max | mean |', '|---|---|---|---|---|')
    out.push(`| CPU, % of a core | ${cell(c.p50)} | ${cell(c.p90)} | ${cell(c.max)} | ${cell(c.mean)} |`)
    out.push(`| RSS, MB (largest seen) | ${cell(m.p50)} | ${cell(m.p90)} | ${cell(m.max)} | ${cell(m.mean)} |`)
    out.push('', `All daemons together: ${cell(r.resources.networkCpuPercentMean)} % of a core on average (the host has ${r.machine.cpus * 100}); load average peaked at ${cell(r.resources.load1Max)}.`, '')
  }
  const rest = Object.entries(r.summary ?? {}).filter(([, v]) => v != null)
  if (rest.length > 0) {
    out.push('<details><summary>summary</summary>', '', '| | |', '|---|---|')
    for (const [k, v] of rest) {
      const text = isDistribution(v) ? `p50 ${cell(v.p50)}, p90 ${cell(v.p90)}, p99 ${cell(v.p99)}, max ${cell(v.max)} (n = ${v.n})` : typeof v === 'object' ? '`' + JSON.stringify(v).slice(0, 600) + '`' : cell(v)
      out.push(`| ${k} | ${text} |`)
    }
    out.push('', '</details>', '')
  }
  for (const f of r.files ?? []) if (f.endsWith('.svg')) out.push(`![${f}](${f})`, '')
  return out.join('\n')
}

export interface BenchFile {
  date: string
  cpus: number
  cpuModel?: string
  node: string
  commit?: string
  /** each figure beside its same-run baseline (test/bench/figures.ts) */
  figures?: Array<{ bench: string, figure: string, unit: string, value: number, baseline: string, baselineValue: number, ratio: number, better: string }>
  /** each benchmark's own result, with its goals (`{ value?, goal | target, met }` by name) */
  results?: Array<{ name: string, goals?: Record<string, { value?: unknown, goal?: string, target?: string, met: boolean }> }>
}

/** One goal of a benchmark or a simulation run, with where it was measured. */
interface GoalRow { where: string, goal: string, target: string, value: string, met: boolean }

function benchGoals (bench: BenchFile): GoalRow[] {
  return (bench.results ?? []).flatMap(r => Object.entries(r.goals ?? {}).map(([name, g]) => ({
    where: `bench ${r.name}`,
    goal: name,
    target: g.goal ?? g.target ?? '',
    value: g.value == null ? '-' : Array.isArray(g.value) ? g.value.join(', ') : String(g.value),
    met: g.met
  })))
}

function runGoals (r: RunReport): GoalRow[] {
  return (r.goals ?? []).map(g => ({ where: `${r.scenario} N=${r.nodes} ${r.mode}${r.config != null ? ' (custom config)' : ''}`, goal: g.name, target: g.target, value: String(g.value), met: g.met }))
}

function goalTable (rows: GoalRow[]): string[] {
  return ['| where | goal | target | value |', '|---|---|---|---|', ...rows.map(g => `| ${cell(g.where)} | ${cell(g.goal)} | ${cell(g.target)} | ${cell(g.value)} |`)]
}

/**
 * The benchmarks alone (`docs/figures.md`): the goals not met first, then
 * those met, then every figure beside its same-run baseline and their ratio.
 */
export function benchMarkdown (bench: BenchFile, link: string): string[] {
  const goals = benchGoals(bench)
  const out = [`${bench.date}, commit ${bench.commit?.slice(0, 12) ?? '?'}, ${bench.cpus} x ${bench.cpuModel ?? '?'}, Node ${bench.node}; every figure is beside a baseline measured in the same run ([bench.json](${link})).`, '']
  out.push('### Goals not met', '', ...goalTable(goals.filter(g => !g.met)), '')
  out.push('### Goals met', '', ...goalTable(goals.filter(g => g.met)), '')
  out.push('### Every figure beside its baseline', '')
  out.push('| benchmark | figure | value | baseline (same run) | baseline value | ratio | better |', '|---|---|---|---|---|---|---|')
  for (const f of bench.figures ?? []) out.push(`| ${cell(f.bench)} | ${cell(f.figure)} | ${cell(f.value)} ${f.unit} | ${cell(f.baseline)} | ${cell(f.baselineValue)} ${f.unit} | ${f.ratio} | ${f.better} |`)
  out.push('')
  return out
}

/**
 * The latest run of each scenario and size side by side (`npm run sim:report`),
 * and the benchmark file's ratios when there is one.
 */
export function summaryMarkdown (reports: RunReport[], bench?: BenchFile): string {
  const out: string[] = ['# Simulation results', '', 'Rebuilt by `npm run sim:report` from the latest JSON of each scenario and size in this directory; each row links to its run.', '']
  // what a skeptical reader wants first: every goal not met, runs that failed included
  const unmet = [
    ...reports.flatMap(r => r.error != null ? [{ where: `${r.scenario} N=${r.nodes} ${r.mode}`, goal: 'the run finished', target: 'no error', value: r.error.split('\n')[0]!, met: false }] : runGoals(r).filter(g => !g.met)),
    ...(bench != null ? benchGoals(bench).filter(g => !g.met) : [])
  ]
  out.push('## Goals not met', '', ...(unmet.length > 0 ? goalTable(unmet) : ['None.']), '')
  const byScenario = new Map<string, RunReport[]>()
  for (const r of reports) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r])
  for (const [scenario, runs] of [...byScenario].sort((a, b) => a[0].localeCompare(b[0]))) {
    runs.sort((a, b) => a.nodes - b.nodes || a.mode.localeCompare(b.mode))
    const keys = [...new Set(runs.flatMap(r => Object.keys(r.headline ?? {})))]
    out.push(`## ${scenario}`, '')
    out.push(`| N | mode | ${keys.join(' | ')} | CPU/daemon % (mean) | RSS/daemon MB (p50) | goals | run |`)
    out.push(`|---|---|${keys.map(() => '---').join('|')}|---|---|---|---|`)
    for (const r of runs) {
      // runs written before the markdown pages existed link to their JSON
      const name = `${fileBase(r)}.${r.files != null ? 'md' : 'json'}`
      const goals = r.skipped != null ? `skipped: ${r.skipped}` : r.error != null ? `failed: ${r.error.split('\n')[0]}` : `${r.goals?.filter(g => g.met).length ?? 0} of ${r.goals?.length ?? 0} met`
      out.push(`| ${r.nodes} | ${r.mode} | ${keys.map(k => cell(r.headline?.[k])).join(' | ')} | ${cell(r.resources?.cpuPercentOfCore.mean)} | ${cell(r.resources?.rssMB.p50)} | ${cell(goals)} | [${r.startedAt.slice(0, 16)}](${name}) |`)
    }
    out.push('')
  }
  if (bench != null) out.push('## benchmarks (`npm run bench`)', '', ...benchMarkdown(bench, 'bench.json'))
  return out.join('\n')
}

/** `crash-n50`, `join-n20-netns`, `join-n20-custom`: the name of a run's files. */
export function fileBase (r: Pick<RunReport, 'scenario' | 'nodes' | 'mode' | 'config'>): string {
  return `${r.scenario}-n${r.nodes}${r.mode === 'netns' && r.scenario !== 'partition' ? '-netns' : ''}${r.config != null ? '-custom' : ''}`
}
