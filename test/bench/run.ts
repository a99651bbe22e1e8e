import '../../lib/polyfill.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { controlApiBench } from './control-api.bench.js'
import { figuresOf } from './figures.js'
import { fusionBench } from './fusion.bench.js'
import { kgBench } from './kg.bench.js'
import { writeFiguresDoc } from '../../simulations/harness/figures-doc.js'
import { machineInfo } from '../../simulations/harness/machine.js'
import { modulesBench } from './modules.bench.js'
import { placementBench } from './placement.bench.js'
import { pythonBench } from './python.bench.js'
import { registryBench } from './registry.bench.js'
import { rpcBench } from './rpc.bench.js'
import { runtimeBench } from './runtime.bench.js'

/**
 * `npm run bench`: every benchmark against a baseline measured in the same
 * run; one JSON document, on stdout and in simulations/results/bench.json
 * (`--out FILE` elsewhere), with `figures`: each figure beside its baseline
 * and their ratio. `npm run bench -- NAME...` runs some (stdout only,
 * unless `--out`).
 */
const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  'control-api': controlApiBench,
  fusion: fusionBench,
  kg: kgBench,
  modules: modulesBench,
  placement: placementBench,
  python: pythonBench,
  registry: registryBench,
  rpc: rpcBench,
  runtime: runtimeBench
}

async function main (): Promise<number> {
  const argv = process.argv.slice(2)
  const outAt = argv.indexOf('--out')
  const only = argv.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1))
  const unknown = only.filter(n => BENCHES[n] == null)
  if (unknown.length > 0 || (outAt >= 0 && argv[outAt + 1] == null)) {
    process.stderr.write(`usage: npm run bench [-- NAME... [--out FILE]]; known: ${Object.keys(BENCHES).join(', ')}\n`)
    return 2
  }
  // the whole suite replaces the committed file; a partial run writes one only when asked
  const out = outAt >= 0 ? resolve(argv[outAt + 1]!) : only.length === 0 ? fileURLToPath(new URL('../../../simulations/results/bench.json', import.meta.url)) : undefined
  // read before the benchmarks load the host
  const machine = machineInfo()
  const results: Array<Record<string, unknown>> = []
  for (const [name, bench] of Object.entries(BENCHES)) {
    if (only.length > 0 && !only.includes(name)) continue
    process.stderr.write(`running ${name}...\n`)
    results.push(await bench())
  }
  const doc = JSON.stringify({
    date: new Date().toISOString(),
    ...machine,
    figures: results.flatMap(figuresOf),
    results
  }, null, 2) + '\n'
  process.stdout.write(doc)
  if (out != null) {
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, doc)
    process.stderr.write(`wrote ${out}\n`)
    // the committed results: the manual's table too
    if (outAt < 0) process.stderr.write(`wrote ${await writeFiguresDoc(JSON.parse(doc))}\n`)
  }
  return 0
}

process.exitCode = await main()
