import '../../lib/polyfill.js'
import { cpus } from 'node:os'
import { controlApiBench } from './control-api.bench.js'
import { modulesBench } from './modules.bench.js'
import { placementBench } from './placement.bench.js'
import { registryBench } from './registry.bench.js'
import { rpcBench } from './rpc.bench.js'
import { runtimeBench } from './runtime.bench.js'

/**
 * `npm run bench`: every benchmark against a baseline measured in the same
 * run; one JSON document on stdout. `npm run bench -- NAME` runs one.
 */
const BENCHES: Record<string, () => Promise<Record<string, unknown>>> = {
  'control-api': controlApiBench,
  modules: modulesBench,
  placement: placementBench,
  registry: registryBench,
  rpc: rpcBench,
  runtime: runtimeBench
}

const only = process.argv.slice(2)
const results: Array<Record<string, unknown>> = []
for (const [name, bench] of Object.entries(BENCHES)) {
  if (only.length > 0 && !only.includes(name)) continue
  process.stderr.write(`running ${name}...\n`)
  results.push(await bench())
}
process.stdout.write(JSON.stringify({
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  results
}, null, 2) + '\n')
