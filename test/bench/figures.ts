/** One benchmark figure beside the baseline measured in the same run. */
export interface Figure {
  bench: string
  figure: string
  unit: string
  value: number
  baseline: string
  baselineValue: number
  /** value / baselineValue */
  ratio: number
  /** whether a larger value is better (throughput) or a smaller one (latency) */
  better: 'higher' | 'lower'
}

function num (obj: unknown, path: string): number | undefined {
  let cur: any = obj
  for (const key of path.split('.')) {
    if (cur == null || typeof cur !== 'object') return undefined
    cur = cur[key]
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : undefined
}

type Pair = [figure: string, unit: string, valuePath: string, baseline: string, baselinePath: string, better: 'higher' | 'lower']

/**
 * Where each benchmark keeps its figures and their same-run baselines (the
 * benchmarks' own result shapes stay as they were; this reads them).
 */
const PAIRS: Record<string, (r: Record<string, unknown>) => Pair[]> = {
  rpc: () => [
    ['mesh RPC throughput', 'calls/s', 'meshRpc.perSec', 'the limit: length-prefixed echo on one TCP connection', 'baselineRawTcpLimit.perSec', 'higher'],
    ['mesh RPC throughput', 'calls/s', 'meshRpc.perSec', 'raw Node HTTP on loopback', 'baselineRawHttp.perSec', 'higher'],
    ['mesh RPC throughput', 'calls/s', 'meshRpc.perSec', 'node:http2, every call a stream of one session', 'baselineHttp2OneSession.perSec', 'higher'],
    ['mesh RPC throughput', 'calls/s', 'meshRpc.perSec', 'vanilla libp2p, a stream per request', 'baselineLibp2pStreamPerRequest.perSec', 'higher'],
    ['HTTP gateway throughput', 'calls/s', 'gateway.perSec', 'raw Node HTTP on loopback', 'baselineRawHttp.perSec', 'higher'],
    ['HTTP gateway to an external HTTP service', 'calls/s', 'gatewayToExternalService.perSec', 'the HTTP gateway to the built-in echo', 'gateway.perSec', 'higher'],
    ['HTTP gateway to an external HTTP service', 'calls/s', 'gatewayToExternalService.perSec', 'raw Node HTTP on loopback (the same echo process, called directly)', 'baselineRawHttp.perSec', 'higher'],
    ['HTTP gateway to an external service on an rpc+unix socket', 'calls/s', 'gatewayToSocketService.perSec', 'the HTTP gateway to the built-in echo', 'gateway.perSec', 'higher'],
    ['mesh RPC p99 at half its peak rate', 'us', 'meshRpcAtHalfPeak.p99Us', 'the TCP limit\'s p99 at the same rate', 'baselineRawTcpAtSameRate.p99Us', 'lower'],
    ['mesh RPC p99 at half the smaller of its and raw HTTP\'s peaks', 'us', 'meshRpcAtRawHttpRate.p99Us', 'raw Node HTTP p99 at the same rate', 'baselineRawHttpAtSameRate.p99Us', 'lower'],
    ['mesh RPC p99 at half the smaller of its and node:http2\'s peaks', 'us', 'meshRpcAtHttp2Rate.p99Us', 'node:http2 (one session) p99 at the same rate', 'baselineHttp2AtSameRate.p99Us', 'lower'],
    ['mesh RPC p99 at half its peak rate', 'us', 'meshRpcAtHalfPeak.p99Us', 'the TCP limit\'s p99 at half its own peak', 'baselineRawTcpAtHalfItsPeak.p99Us', 'lower'],
    ['mesh RPC p99 at half its peak rate', 'us', 'meshRpcAtHalfPeak.p99Us', 'node:http2 p99 at half its own peak', 'baselineHttp2AtHalfItsPeak.p99Us', 'lower']
  ],
  modules: (r) => ((r.results as unknown[] | undefined) ?? []).map((_, i) => {
    const size = num(r, `results.${i}.sizeBytes`) ?? 0
    const label = size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : `${size / 1024} KiB`
    return [
      [`warm module fetch (not in the store; streams open), ${label}`, 'MB/s', `results.${i}.coldFetch.mbPerSec`, 'the same bytes over one open raw Noise libp2p stream', `results.${i}.baselineRawNoiseStream.mbPerSec`, 'higher'],
      [`cold module fetch (provider restarted, new node), ${label}`, 'ms', `results.${i}.trulyColdFetch.p50Ms`, 'the same bytes from a new vanilla libp2p node, dial included', `results.${i}.baselineNewRawNoiseConnection.p50Ms`, 'lower']
    ] as Pair[]
  }).flat(),
  runtime: (r) => [
    ...((r.sandboxOverheadByWork as unknown[] | undefined) ?? []).map((_, i) => {
      const ms = num(r, `sandboxOverheadByWork.${i}.workMs`) ?? 0
      return [ms === 0 ? 'a trivial call in the worker sandbox, p50' : `a call with ~${ms} ms of work in the worker sandbox, p50`, 'us', `sandboxOverheadByWork.${i}.sandboxP50Us`, 'the same wasm in this thread (Extism)', `sandboxOverheadByWork.${i}.inThreadP50Us`, 'lower'] as Pair
    }),
    ['compute call in the worker sandbox, p50', 'us', 'perCallUs.wasmInWorkerSandbox.p50Us', 'the same wasm in this thread (Extism)', 'perCallUs.wasmInThread.p50Us', 'lower'],
    ['the same loop as wasm in this thread, p50', 'us', 'perCallUs.wasmInThread.p50Us', 'plain JS in the main thread', 'perCallUs.plainJsMainThread.p50Us', 'lower']
  ],
  placement: (r) => [
    ...((r.efficiency as unknown[] | undefined) ?? []).map((_, i) => [`CPU demand placed at load ${num(r, `efficiency.${i}.cpuDemandOverCapacity`) ?? '?'}`, 'cores', `efficiency.${i}.placement.cpu`, 'first-fit decreasing', `efficiency.${i}.baselineFirstFitDecreasing.cpu`, 'higher'] as Pair),
    ['placement of 1,000 services on 100 members', 'ms', 'fullPlacement.placementMs.median', 'first-fit decreasing', 'fullPlacement.baselineFirstFitDecreasingMs', 'lower']
  ],
  registry: () => [
    ['service lookup from the placement cache, p99', 'us', 'lookupP99Us.fromPlacementCache', 'a Map lookup', 'lookupP99Us.baselineMapLookup', 'lower'],
    ['service lookup from the resolve cache, p99', 'us', 'lookupP99Us.fromResolveCache', 'a Map lookup', 'lookupP99Us.baselineMapLookup', 'lower']
  ],
  kg: (r) => ((r.results as unknown[] | undefined) ?? []).flatMap((_, i) => {
    const n = num(r, `results.${i}.triples`) ?? 0
    const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`
    return [
      [`durable ingest of ${label} triples`, 'triples/s', `results.${i}.ingest.triplesPerSec`, 'Oxigraph\'s in-memory bulk load, this thread', `results.${i}.ingest.baselineTriplesPerSec`, 'higher'],
      ...['lookup', 'join3', 'aggregate'].map(q => [`query ${q} over ${label}, p50`, 'us', `results.${i}.queries.${q}.store.p50Us`, 'Oxigraph called directly, this thread', `results.${i}.queries.${q}.direct.p50Us`, 'lower']),
      ...['lookup', 'join3', 'aggregate'].map(q => [`query ${q} over ${label}, p50`, 'us', `results.${i}.queries.${q}.store.p50Us`, 'the direct call plus an empty round trip to a worker (the floor off the event loop)', `results.${i}.queries.${q}.offThreadFloorP50Us`, 'lower']),
      // the alternative not chosen (first size only): the figure is ours, the baseline theirs
      [`durable ingest of ${label} triples`, 'triples/s', `results.${i}.ingest.triplesPerSec`, 'quadstore (level) + Comunica, the alternative considered', `results.${i}.alternative.triplesPerSec`, 'higher'],
      ...['lookup', 'join3', 'aggregate'].map(q => [`query ${q} over ${label}, p50`, 'us', `results.${i}.queries.${q}.store.p50Us`, 'quadstore (level) + Comunica, the alternative considered', `results.${i}.alternative.queries.${q}.p50Us`, 'lower'])
    ] as Pair[]
  }).concat(Object.keys((r.federated as { queries?: Record<string, unknown> } | undefined)?.queries ?? {}).flatMap(q => [
    [`federated ${q} over ${num(r, 'federated.daemons') ?? '?'} daemons (warm), p95`, 'us', `federated.queries.${q}.warm.p95Us`, 'one in-process store holding every graph, p95', `federated.queries.${q}.singleStore.p95Us`, 'lower'] as Pair,
    [`federated ${q}, cold: the graphs it needs shipped to the asker`, 'ms', `federated.queries.${q}.coldMs`, 'Oxigraph loading the same graphs in this thread', `federated.queries.${q}.baselineBulkLoadOfShippedMs`, 'lower'] as Pair
  ])),
  python: () => [
    ['Python echo service through the mesh', 'calls/s', 'meshRpcToPython.perSec', 'the same Python server called directly (HTTP keep-alive)', 'baselinePythonDirect.perSec', 'higher'],
    ['Python echo service through the gateway', 'calls/s', 'gatewayToPython.perSec', 'the same Python server called directly (HTTP keep-alive)', 'baselinePythonDirect.perSec', 'higher'],
    ['Python echo service through the mesh, p99', 'us', 'meshRpcToPython.p99Us', 'the same Python server called directly, p99', 'baselinePythonDirect.p99Us', 'lower'],
    ['Python echo service on a Unix socket (RPC frames) through the mesh', 'calls/s', 'meshRpcToPythonOnSocket.perSec', 'the same Python server called directly (frames on one connection)', 'baselinePythonOnSocketDirect.perSec', 'higher'],
    ['Python echo service on a Unix socket (RPC frames) through the gateway', 'calls/s', 'gatewayToPythonOnSocket.perSec', 'the Python echo over HTTP through the same gateway', 'gatewayToPython.perSec', 'higher']
  ],
  fusion: (r) => [
    ...((r.levels as unknown[] | undefined) ?? []).map((_, i) => {
      const level = (r.levels as Array<{ level: { name: string } }>)[i]!.level.name
      return [`fused accuracy (auto rule), ${level} inputs`, 'share', `levels.${i}.engine.accuracy`, 'the best single processor on the same items', `levels.${i}.bestSingleAccuracy`, 'higher'] as Pair
    }),
    ['digits read in codes the graph holds, with context', 'share', 'context.digitsWithContext.accuracy', 'the same sessions with the context source off', 'context.digitsWithoutContext.accuracy', 'higher'],
    ['fuse p99 at 100 concurrent callers, a straggling instance, hedged (engine time)', 'ms', 'load.hedgedAt100.engine.p99Ms', 'the same, not hedged', 'load.unhedgedAt100.engine.p99Ms', 'lower'],
    ['fusions per second, wasm processors (32 callers on the control API)', 'fusions/s', 'load.throughput.perSec', 'the same two processor calls per input through the control API\'s /call, no engine', 'load.baselineDirectCalls.perSec', 'higher']
  ],
  'control-api': () => [
    ['GET /health p50', 'us', 'health.noodled.p50Us', 'raw Node HTTP server', 'health.baselineRawNodeHttp.p50Us', 'lower'],
    ['GET /health p99', 'us', 'health.noodled.p99Us', 'raw Node HTTP server', 'health.baselineRawNodeHttp.p99Us', 'lower'],
    ['GET /status p50', 'us', 'status.noodled.p50Us', 'raw Node HTTP server', 'health.baselineRawNodeHttp.p50Us', 'lower'],
    ['noodled status (CLI) p50', 'us', 'cliStatus.noodled.p50Us', 'node -e "" (Node startup)', 'cliStatus.baselineNodeStartup.p50Us', 'lower']
  ]
}

/** The figure/baseline pairs of one benchmark's result; pairs whose numbers are missing are left out. */
export function figuresOf (result: Record<string, unknown>): Figure[] {
  const bench = String(result.name)
  const out: Figure[] = []
  for (const [figure, unit, vp, baseline, bp, better] of PAIRS[bench]?.(result) ?? []) {
    const value = num(result, vp)
    const baselineValue = num(result, bp)
    if (value == null || baselineValue == null) continue
    out.push({ bench, figure, unit, value, baseline, baselineValue, ratio: baselineValue === 0 ? NaN : Math.round((value / baselineValue) * 1000) / 1000, better })
  }
  return out
}
