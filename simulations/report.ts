#!/usr/bin/env node
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeFiguresDoc } from './harness/figures-doc.js'
import { summaryMarkdown, type BenchFile, type RunReport } from './harness/markdown.js'

/**
 * `npm run sim:report [DIR]`: rebuild DIR/SUMMARY.md (default
 * simulations/results) from the run JSONs there, one row per scenario and
 * size (each file holds the latest run of its scenario and size), and the
 * benchmark figures from DIR/bench.json when `npm run bench` wrote one.
 */
async function main (): Promise<number> {
  const dir = resolve(process.argv[2] ?? fileURLToPath(new URL('../../simulations/results/', import.meta.url)))
  let files: string[]
  try {
    files = (await readdir(dir)).filter(f => f.endsWith('.json') && f !== 'bench.json')
  } catch (err: any) {
    process.stderr.write(`cannot read ${dir}: ${err.message}\n`)
    return 1
  }
  const reports: RunReport[] = []
  for (const f of files) {
    try {
      const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as RunReport & { data?: unknown }
      if (typeof r.scenario !== 'string' || typeof r.nodes !== 'number') continue
      // runs written before modes existed ran on loopback
      reports.push({ ...r, mode: r.mode ?? 'loopback', seed: r.seed ?? 1, repeats: r.repeats ?? 0, command: r.command ?? '', machine: r.machine, durationSec: r.durationSec ?? 0, startedAt: r.startedAt ?? '' })
    } catch (err: any) {
      process.stderr.write(`skipping ${f}: ${err.message}\n`)
    }
  }
  const bench = await readFile(join(dir, 'bench.json'), 'utf8').then(s => JSON.parse(s) as BenchFile, () => undefined)
  const out = join(dir, 'SUMMARY.md')
  await writeFile(out, summaryMarkdown(reports, bench))
  process.stderr.write(`wrote ${out} (${reports.length} runs${bench != null ? ' and the benchmarks' : ''})\n`)
  // the committed results only: docs/figures.md is the manual's table of the benchmarks
  if (bench != null && process.argv[2] == null) process.stderr.write(`wrote ${await writeFiguresDoc(bench)}\n`)
  return 0
}

process.exitCode = await main()
