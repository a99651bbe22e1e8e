import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { COLORS, lineSvg, type Line } from '../../../simulations/harness/svg.js'

/**
 * The fusion benchmark's plots, next to its results file:
 * fusion-accuracy.svg (accuracy per degradation level: each processor
 * alone, each rule, the engine's auto) and fusion-deadline.svg (accuracy
 * and the share of partial answers against the deadline).
 * `node dist/test/bench/fusion/plots.js simulations/results/fusion.json`
 */
interface FusionResult {
  commit?: string
  results: Array<{
    name: string
    levels: Array<{ level: { name: string }, processors: Record<string, { accuracy: number }>, rules: Record<string, { accuracy: number }>, engine: { accuracy: number, rule: string } }>
    byDeadline: Array<{ deadlineMs: number, accuracy: { accuracy: number }, partial: number }>
  }>
}

export async function fusionPlots (file: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(file, 'utf8')) as FusionResult
  const r = doc.results.find(x => x.name === 'fusion')
  if (r == null) throw new Error(`${file} has no fusion result`)
  const levels = r.levels
  const series = (pick: (l: FusionResult['results'][0]['levels'][0]) => number): Array<[number, number]> => levels.map((l, i) => [i, pick(l) * 100])
  const lines: Line[] = []
  for (const [i, p] of Object.keys(levels[0]!.processors).entries()) lines.push({ name: `${p} alone`, points: series(l => l.processors[p]!.accuracy), color: COLORS[i % 3]!, width: 1.5 })
  const ruleColors = [COLORS[3]!, COLORS[4]!, COLORS[5]!, '#17becf']
  for (const [i, rule] of ['sum', 'product', 'ds', 'stacker'].entries()) lines.push({ name: `rule ${rule}`, points: series(l => l.rules[rule]!.accuracy), color: ruleColors[i]!, width: 1.5, opacity: 0.8 })
  lines.push({ name: `engine (auto: ${levels[0]!.engine.rule})`, points: series(l => l.engine.accuracy), color: '#000', width: 2.5 })
  const accuracy = lineSvg({
    title: 'Fused accuracy by degradation level (test split, n = 450 each)',
    xLabel: `level: ${levels.map((l, i) => `${i} ${l.level.name}`).join(', ')}`,
    yLabel: 'accuracy, %',
    lines,
    maxY: 100,
    notes: [`commit ${doc.commit?.slice(0, 12) ?? '?'}; every line on the same items`]
  })
  const deadline = lineSvg({
    title: 'Accuracy and partial answers against the deadline (moderate level, n = 200)',
    xLabel: 'deadline, ms',
    yLabel: '%',
    maxY: 100,
    lines: [
      { name: 'accuracy', points: r.byDeadline.map(d => [d.deadlineMs, d.accuracy.accuracy * 100]), color: COLORS[0]!, width: 2 },
      { name: 'answers missing a processor (partial)', points: r.byDeadline.map(d => [d.deadlineMs, d.partial * 100]), color: COLORS[1]!, width: 2 }
    ],
    notes: [`deadlines ${r.byDeadline.map(d => d.deadlineMs).join(', ')} ms`]
  })
  const out = [join(dirname(file), 'fusion-accuracy.svg'), join(dirname(file), 'fusion-deadline.svg')]
  await writeFile(out[0]!, accuracy)
  await writeFile(out[1]!, deadline)
  return out
}

if (process.argv[1]?.endsWith('plots.js') === true && process.argv[2] != null) {
  for (const f of await fusionPlots(process.argv[2])) process.stderr.write(`wrote ${f}\n`)
}
