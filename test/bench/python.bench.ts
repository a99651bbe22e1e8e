import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Agent } from 'node:http'
import { fileURLToPath } from 'node:url'
import { ApiClient } from '../../lib/client/api-client.js'
import { SocketEndpoint } from '../../lib/rpc/socket-endpoint.js'
import { createNode } from '../../lib/node/index.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { DaemonProcess, killAll, startDaemonMesh, untilResolvedHealthy } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { closedLoop as closedLoopOf, httpPoster, type Call } from './loops.js'
import { acrossRounds, type LatencyStats } from './stats.js'

const PAYLOAD = new Uint8Array(256).fill(0x61)
const CONCURRENCY = 64
const WARMUP_MS = 1_000
const RUN_MS = 3_000
const ROUNDS = 3
const closedLoop = async (call: Call): Promise<LatencyStats> => await closedLoopOf(call, { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, runMs: RUN_MS })
const PACKAGE = fileURLToPath(new URL('../../../clients/python', import.meta.url))

/**
 * `npm run bench:python`: a Python echo service (the `noodle` package's
 * serve()) registered on daemon B, twice: over HTTP, and on a Unix socket
 * speaking the RPC frames; calls per second and p50/p99, 64 in flight,
 * 256 B, through the mesh (mesh RPC from a node in this process) and
 * through daemon A's gateway, beside the same Python server called
 * directly in the same run (HTTP keep-alive; the frames on one connection).
 * Rounds interleaved; the median round reported.
 */
export async function pythonBench (): Promise<Record<string, unknown>> {
  const version = spawnSync('python3', ['--version'], { encoding: 'utf8' })
  if (version.status !== 0) return { name: 'python', skipped: 'python3 is not installed' }
  const dir = await tmpDir()
  const daemons: DaemonProcess[] = []
  const pys: ChildProcess[] = []
  const closers: Array<() => Promise<void>> = []
  try {
    // A with the gateway, B bootstrapped from it, both listing both alive
    const pair = await startDaemonMesh(dir.path, 2, ['--gateway', '127.0.0.1:0'])
    daemons.push(...pair.daemons)
    const [a, b] = pair.daemons as [DaemonProcess, DaemonProcess]
    const boot = (await a.id()).addrs[0]!
    // the same echo twice, each in a Python process of its own: over HTTP, and on a Unix socket
    // speaking the RPC frames (the default transport)
    const serve = (name: string, transport: string): ChildProcess => spawn('python3', ['-c', `import noodle; noodle.serve({'echo': lambda b: b}, name='${name}', transport='${transport}', repo=${JSON.stringify(b.repo)})`], { env: { ...process.env, PYTHONPATH: PACKAGE }, stdio: 'inherit' })
    pys.push(serve('pyecho', 'http'), serve('pyframes', 'unix'))
    const bApi = new ApiClient({ socketPath: repoPaths(b.repo).apiSocket, repo: b.repo })
    const endpointOf = async (name: string): Promise<string> => await waitFor(async () => (await bApi.externalServices()).find(e => e.name === name)?.endpoint, { timeoutMs: 30_000, what: `the Python service ${name} to register` })
    const endpoint = await endpointOf('pyecho')
    const framesEndpoint = await endpointOf('pyframes')
    // the frames server called directly from this process, as the daemon calls it
    const framesDirect = new SocketEndpoint(framesEndpoint, 4 * 1024 * 1024)
    closers.push(async () => { framesDirect.close() })
    const signal = new AbortController().signal
    const framesDirectCall: Call = async () => {
      const res = await framesDirect.call({ service: 'pyframes', fn: 'echo', payload: PAYLOAD, timeoutMs: 10_000, signal })
      if (res.byteLength !== PAYLOAD.byteLength) throw new Error('short answer')
    }
    const gateway = /gateway: +(http:\/\/\S+)/.exec(a.stdout)![1]!
    const client = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', bootstrap: [boot] })
    closers.push(async () => { await client.stop() })
    for (const name of ['pyecho', 'pyframes']) {
      await waitFor(async () => (await client.services.registry.resolve(name, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.instances.some(i => i.healthy) === true,
        { timeoutMs: 60_000, what: `the bench node to resolve ${name}` })
      await untilResolvedHealthy(a, name)
    }
    const meshCallTo = (name: string): Call => async () => {
      const res = await client.services.rpc.call(name, 'echo', PAYLOAD)
      if (res.payload.byteLength !== PAYLOAD.byteLength) throw new Error('short answer')
    }
    const agentDirect = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    const agentGateway = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    closers.push(async () => { agentDirect.destroy(); agentGateway.destroy() })
    const rounds: Array<Record<string, LatencyStats>> = []
    for (let r = 0; r < ROUNDS; r++) {
      process.stderr.write(`python round ${r + 1}/${ROUNDS}\n`)
      rounds.push({
        direct: await closedLoop(httpPoster(`${endpoint}/echo`, agentDirect, PAYLOAD)),
        mesh: await closedLoop(meshCallTo('pyecho')),
        gateway: await closedLoop(httpPoster(`${gateway}/svc/pyecho/echo`, agentGateway, PAYLOAD)),
        framesDirect: await closedLoop(framesDirectCall),
        framesMesh: await closedLoop(meshCallTo('pyframes')),
        framesGateway: await closedLoop(httpPoster(`${gateway}/svc/pyframes/echo`, agentGateway, PAYLOAD))
      })
    }
    const over = (k: string): ReturnType<typeof acrossRounds> => acrossRounds(rounds.map(r => r[k]!))
    const direct = over('direct')
    const mesh = over('mesh')
    const gatewayPath = over('gateway')
    const framesDirect_ = over('framesDirect')
    const framesMesh = over('framesMesh')
    const framesGateway = over('framesGateway')
    const ratio = (x: number, y: number): number => Math.round((x / y) * 100) / 100
    return {
      name: 'python',
      python: version.stdout.trim() || version.stderr.trim(),
      payloadBytes: PAYLOAD.byteLength,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      meshRpcToPython: mesh,
      gatewayToPython: gatewayPath,
      baselinePythonDirect: direct,
      meshRpcToPythonOnSocket: framesMesh,
      gatewayToPythonOnSocket: framesGateway,
      baselinePythonOnSocketDirect: framesDirect_,
      ratios: {
        meshOverDirect: ratio(mesh.perSec, direct.perSec),
        gatewayOverDirect: ratio(gatewayPath.perSec, direct.perSec),
        socketMeshOverSocketDirect: ratio(framesMesh.perSec, framesDirect_.perSec),
        socketGatewayOverHttpGateway: ratio(framesGateway.perSec, gatewayPath.perSec)
      },
      goals: {
        meshAtLeastHalfOfDirect: { target: '>= 0.5 (calls/s through the mesh over the same Python server called directly), HTTP and socket', value: `${ratio(mesh.perSec, direct.perSec)}, ${ratio(framesMesh.perSec, framesDirect_.perSec)}`, met: mesh.perSec / direct.perSec >= 0.5 && framesMesh.perSec / framesDirect_.perSec >= 0.5 }
      }
    }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
    await Promise.all(pys.filter(p => p.exitCode == null).map(async (p) => {
      p.kill('SIGTERM')
      await new Promise(resolve => { p.once('exit', resolve); setTimeout(resolve, 5_000).unref() })
    }))
    await killAll(daemons)
    await dir.cleanup()
  }
}
