import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { DaemonProcess, killAll, startDaemonMesh, untilResolvedHealthy } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { spawnPrinting } from './child.js'
import type { DriverTarget } from './driver-process.js'
import { HostProbe, type HostStalls } from './host-probe.js'
import { LoadDriver } from './load-driver.js'
import { closedLoop as closedLoopOf, type Call } from './loops.js'
import { RAW_TCP_ECHO_SERVER } from './raw-tcp.js'
import { acrossRounds, type LatencyStats } from './stats.js'

const PAYLOAD = new Uint8Array(256).fill(0x61)
const CONCURRENCY = 64
const WARMUP_MS = 1_500
const RUN_MS = 3_000
/** An open loop's warm-up at its rate, not counted (see openLoop). */
const OPEN_WARMUP_MS = 1_000
/** Every figure and its baselines are measured this many times, interleaved; the median round is reported, with the range. */
const ROUNDS = 5
const ECHO_PROTOCOL = '/bench/echo/1.0.0'

/** A bare Node HTTP keep-alive echo server: baseline (c). Prints its port. */
const HTTP_ECHO_SERVER = `
const http = require('node:http')
const server = http.createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
    res.end(body)
  })
})
server.keepAliveTimeout = 30000
server.listen(0, '127.0.0.1', () => { process.stdout.write(server.address().port + '\\n') })
`

/** A node:http2 echo server (cleartext, h2c): the multiplexed HTTP peer. Prints its port. */
const HTTP2_ECHO_SERVER = `
const http2 = require('node:http2')
// an open loop past the server's pace has thousands of streams open: without these, nghttp2
// refuses streams past maxConcurrentStreams and ends the session (ENHANCE_YOUR_CALM) after 100
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000000 }, maxSessionRejectedStreams: 1000000000, maxSessionMemory: 1000 })
server.on('stream', (stream) => {
  const chunks = []
  stream.on('data', c => chunks.push(c))
  stream.on('end', () => {
    const body = Buffer.concat(chunks)
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': body.length })
    stream.end(body)
  })
})
server.listen(0, '127.0.0.1', () => { process.stdout.write(server.address().port + '\\n') })
`

/**
 * `npm run bench:rpc`: two daemon processes (A with the gateway, B hosting
 * `echo` = builtin:echo), 256-byte payloads, 64 calls at a time:
 * (a) mesh RPC from a noodled node (the same code as a daemon) to B; (b) HTTP client -> A's gateway -> mesh -> B; (x) the
 *     same to the HTTP echo process (c) registered on B as an external service;
 * baselines in the same run: (l) the physical limit, a length-prefixed echo
 * over one plain TCP connection to another process (raw-tcp.ts); (c) raw
 * Node HTTP keep-alive echo server on loopback (another process), the
 * familiar reference; (d) vanilla libp2p (TCP, noise, yamux) with a stream
 * per request to an echo server in another process.
 * (h) node:http2, every call a stream of one session: the multiplexed HTTP peer.
 * Then tails, open loop: (a) at half its own peak, beside (l) at that same
 * rate (below both peaks) and at half its own peak; beside (c) and (h), a
 * rate below both peaks (half the smaller), each side at it, and each at
 * half its own peak. Every side but (d) is driven from a process of its own
 * (load-driver.ts), and an idle probe process reports the host's stalls in
 * each open loop's window (host-probe.ts).
 */
export async function rpcBench (): Promise<Record<string, unknown>> {
  const dir = await tmpDir()
  const daemons: DaemonProcess[] = []
  const children: ChildProcess[] = []
  const closers: Array<() => Promise<void>> = []
  try {
    // A with the gateway, B bootstrapped from it, both listing both alive
    const pair = await startDaemonMesh(dir.path, 2, ['--gateway', '127.0.0.1:0'])
    daemons.push(...pair.daemons)
    const [a, b] = pair.daemons as [DaemonProcess, DaemonProcess]
    const boot = (await a.id()).addrs[0]!
    const reg = await b.cli('service', 'register', '--name', 'echo', '--endpoint', 'builtin:echo')
    if (reg.code !== 0) throw new Error(`register: ${reg.stderr}`)
    const gateway = /gateway: +(http:\/\/\S+)/.exec(a.stdout)![1]!

    await untilResolvedHealthy(a, 'echo')

    const httpServer = await spawnPrinting(['-e', HTTP_ECHO_SERVER])
    children.push(httpServer.proc)
    // the same echo process as an external service of B: the path every non-wasm service takes
    const xreg = await b.cli('service', 'register', '--name', 'xecho', '--endpoint', `http://127.0.0.1:${httpServer.line}`)
    if (xreg.code !== 0) throw new Error(`register: ${xreg.stderr}`)
    await untilResolvedHealthy(a, 'xecho')
    // the same echo speaking the RPC frames on a Unix socket (rpc+unix://), registered on B: the
    // external path without HTTP (what noodle.serve in the Python package speaks)
    const framesServer = await spawnPrinting([fileURLToPath(new URL('./fixtures/frames-echo-server.js', import.meta.url)), join(dir.path, 'frames-echo.sock')])
    children.push(framesServer.proc)
    const sreg = await b.cli('service', 'register', '--name', 'secho', '--endpoint', framesServer.line, '--check', 'tcp', '--interval', '1s')
    if (sreg.code !== 0) throw new Error(`register: ${sreg.stderr}`)
    await untilResolvedHealthy(a, 'secho')
    const http2Server = await spawnPrinting(['-e', HTTP2_ECHO_SERVER])
    children.push(http2Server.proc)
    const tcpServer = await spawnPrinting(['-e', RAW_TCP_ECHO_SERVER])
    children.push(tcpServer.proc)
    const libp2pServer = await spawnPrinting([fileURLToPath(new URL('./fixtures/libp2p-echo-server.js', import.meta.url))])
    children.push(libp2pServer.proc)
    const vanilla = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    closers.push(async () => vanilla.stop())
    const serverAddr = multiaddr(libp2pServer.line)
    const streamPerRequest: Call = async () => {
      const stream = await vanilla.dialProtocol(serverAddr, ECHO_PROTOCOL, { maxOutboundStreams: 1024 })
      await new Promise<void>((resolve, reject) => {
        let n = 0
        stream.addEventListener('message', (evt) => { n += evt.data.byteLength; if (n >= PAYLOAD.byteLength) resolve() })
        stream.addEventListener('close', (evt) => { if (n < PAYLOAD.byteLength) reject(evt.error ?? new Error('closed early')) })
        stream.send(PAYLOAD)
      })
      await stream.close()
    }

    // an idle process timing its own 1 ms timer: the host's stalls in each open loop's window
    const host = await HostProbe.start()
    closers.push(async () => { host.stop() })

    // every measured side driven from a process of its own (load-driver.ts): its client, its loops
    // and its garbage, and no other side's
    const payloadBytes = PAYLOAD.byteLength
    const start = async (target: DriverTarget): Promise<LoadDriver> => {
      const d = await LoadDriver.start(target)
      closers.push(async () => { await d.stop() })
      return d
    }
    const mesh = await start({ kind: 'mesh', bootstrap: boot, service: 'echo', payloadBytes })
    const rawTcpD = await start({ kind: 'raw-tcp', port: Number(tcpServer.line), payloadBytes })
    const gatewayD = await start({ kind: 'http', url: `${gateway}/svc/echo/x`, concurrency: CONCURRENCY, payloadBytes })
    const gatewayExternalD = await start({ kind: 'http', url: `${gateway}/svc/xecho/x`, concurrency: CONCURRENCY, payloadBytes })
    const gatewaySocketD = await start({ kind: 'http', url: `${gateway}/svc/secho/x`, concurrency: CONCURRENCY, payloadBytes })
    const rawHttpD = await start({ kind: 'http', url: `http://127.0.0.1:${httpServer.line}/`, concurrency: CONCURRENCY, payloadBytes })
    const http2D = await start({ kind: 'http2', url: `http://127.0.0.1:${http2Server.line}`, payloadBytes })
    const closedLoop = async (d: LoadDriver): Promise<LatencyStats> => await d.closed({ concurrency: CONCURRENCY, warmupMs: WARMUP_MS, runMs: RUN_MS })
    // an open loop, with the host's stalls in its counted window
    const openLoop = async (d: LoadDriver, rate: number): Promise<LatencyStats> => {
      const stats = await d.open(rate, { warmupMs: OPEN_WARMUP_MS, runMs: RUN_MS })
      return { ...stats, host: await host.between(stats.window.from, stats.window.to) } as LatencyStats
    }

    const rounds: Array<Record<string, LatencyStats>> = []
    for (let r = 0; r < ROUNDS; r++) {
      process.stderr.write(`rpc round ${r + 1}/${ROUNDS}\n`)
      const got: Record<string, LatencyStats> = {}
      got.rawTcp = await closedLoop(rawTcpD)
      got.meshRpc = await closedLoop(mesh)
      got.gateway = await closedLoop(gatewayD)
      got.gatewayExternal = await closedLoop(gatewayExternalD)
      got.gatewaySocket = await closedLoop(gatewaySocketD)
      got.rawHttp = await closedLoop(rawHttpD)
      got.http2 = await closedLoop(http2D)
      // a stream per request is far from the others: once is enough to show it (from this process)
      if (r === 0) got.vanillaLibp2p = await closedLoopOf(streamPerRequest, { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, runMs: RUN_MS })
      // tails, open loop: each side at the mesh's half peak, and at half of its own peak
      const halfRate = Math.round(got.meshRpc.perSec / 2)
      got.meshAtHalf = await openLoop(mesh, halfRate)
      got.rawTcpAtMeshHalf = await openLoop(rawTcpD, halfRate)
      const rawTcpHalfRate = Math.round(got.rawTcp.perSec / 2)
      got.rawTcpAtOwnHalf = await openLoop(rawTcpD, rawTcpHalfRate)
      // beside HTTP, a rate below both peaks (half the smaller): at the mesh's half peak HTTP is
      // past its own capacity, queues, and its tail says nothing about its latency
      const httpRate = Math.round(Math.min(got.meshRpc.perSec, got.rawHttp.perSec) / 2)
      got.meshAtHttpRate = await openLoop(mesh, httpRate)
      got.rawHttpAtHalf = await openLoop(rawHttpD, httpRate)
      const rawHalfRate = Math.round(got.rawHttp.perSec / 2)
      got.rawHttpAtOwnHalf = await openLoop(rawHttpD, rawHalfRate)
      const http2Rate = Math.round(Math.min(got.meshRpc.perSec, got.http2.perSec) / 2)
      got.meshAtHttp2Rate = await openLoop(mesh, http2Rate)
      got.http2AtMeshHalf = await openLoop(http2D, http2Rate)
      const http2HalfRate = Math.round(got.http2.perSec / 2)
      got.http2AtOwnHalf = await openLoop(http2D, http2HalfRate)
      rounds.push(got)
    }
    // open-loop rounds that overloaded their driver and client are left out, and counted
    const over = (k: string): ReturnType<typeof acrossRounds> & { rate?: number, overloadedRounds?: number } => {
      const all = rounds.map(r => r[k]).filter((x): x is LatencyStats => x != null)
      const rs = all.filter(x => (x as LatencyStats & { overloaded?: boolean }).overloaded !== true)
      const overloadedRounds = all.length - rs.length
      // every round overloaded: no figure (figures.ts leaves out a pair with a number missing)
      if (rs.length === 0 && overloadedRounds > 0) return { overloadedRounds } as unknown as ReturnType<typeof acrossRounds> & { overloadedRounds: number }
      const rates = rs.map(x => (x as LatencyStats & { rate?: number }).rate).filter((x): x is number => x != null)
      // an open loop's driver pauses, round by round, beside the rounds' spread
      const driver = rs.map(x => (x as LatencyStats & { driver?: unknown }).driver).filter(x => x != null)
      // and the host's stalls (an idle probe process missing its timer), round by round
      const hostStalls = rs.map(x => (x as LatencyStats & { host?: unknown }).host).filter(x => x != null)
      return { ...acrossRounds(rs), ...(rates.length > 0 ? { rate: rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)] } : {}), ...(overloadedRounds > 0 ? { overloadedRounds } : {}), ...(driver.length > 0 ? { driverPausesPerRound: driver } : {}), ...(hostStalls.length > 0 ? { hostStallsPerRound: hostStalls } : {}) }
    }
    const rawTcp = over('rawTcp')
    const meshRpc = over('meshRpc')
    const gatewayPath = over('gateway')
    const gatewayExternal = over('gatewayExternal')
    const gatewaySocket = over('gatewaySocket')
    const rawHttp = over('rawHttp')
    const vanillaLibp2p = over('vanillaLibp2p')
    const meshAtHalf = over('meshAtHalf')
    const rawTcpAtMeshHalf = over('rawTcpAtMeshHalf')
    const rawTcpAtOwnHalf = over('rawTcpAtOwnHalf')
    const rawHttpAtHalf = over('rawHttpAtHalf')
    const rawHttpAtOwnHalf = over('rawHttpAtOwnHalf')
    const http2 = over('http2')
    const http2AtMeshHalf = over('http2AtMeshHalf')
    const meshAtHttpRate = over('meshAtHttpRate')
    const meshAtHttp2Rate = over('meshAtHttp2Rate')
    const http2AtOwnHalf = over('http2AtOwnHalf')
    const ratio = (x: number, y: number): number => Math.round((x / y) * 100) / 100
    const ms = (us: number): number => Math.round(us / 100) / 10
    const perRound = (k: string, f: (x: LatencyStats & { host?: HostStalls }) => number): string => rounds.map(r => r[k]).filter(x => x != null).map(x => f(x)).join(', ')
    return {
      name: 'rpc',
      payloadBytes: PAYLOAD.byteLength,
      concurrency: CONCURRENCY,
      runMs: RUN_MS,
      meshRpc,
      gateway: gatewayPath,
      gatewayToExternalService: gatewayExternal,
      gatewayToSocketService: gatewaySocket,
      baselineRawTcpLimit: rawTcp,
      baselineRawHttp: rawHttp,
      baselineHttp2OneSession: http2,
      baselineLibp2pStreamPerRequest: vanillaLibp2p,
      rounds: ROUNDS,
      meshRpcAtHalfPeak: meshAtHalf,
      baselineRawTcpAtSameRate: rawTcpAtMeshHalf,
      baselineRawTcpAtHalfItsPeak: rawTcpAtOwnHalf,
      meshRpcAtRawHttpRate: meshAtHttpRate,
      baselineRawHttpAtSameRate: rawHttpAtHalf,
      baselineRawHttpAtHalfItsPeak: rawHttpAtOwnHalf,
      meshRpcAtHttp2Rate: meshAtHttp2Rate,
      baselineHttp2AtSameRate: http2AtMeshHalf,
      baselineHttp2AtHalfItsPeak: http2AtOwnHalf,
      ratios: {
        meshRpcOverHttp2OneSession: ratio(meshRpc.perSec, http2.perSec),
        meshRpcOverRawTcpLimit: ratio(meshRpc.perSec, rawTcp.perSec),
        meshRpcOverRawHttp: ratio(meshRpc.perSec, rawHttp.perSec),
        gatewayOverRawHttp: ratio(gatewayPath.perSec, rawHttp.perSec),
        gatewayExternalOverGatewayBuiltin: ratio(gatewayExternal.perSec, gatewayPath.perSec),
        gatewaySocketOverGatewayBuiltin: ratio(gatewaySocket.perSec, gatewayPath.perSec),
        meshRpcOverLibp2pStreamPerRequest: ratio(meshRpc.perSec, vanillaLibp2p.perSec)
      },
      goals: {
        meshRpcPerSec: { target: '>= 10000', value: meshRpc.perSec, met: meshRpc.perSec >= 10_000 },
        // of the physical limit: mesh RPC adds Noise, yamux, protobuf frames and dispatch
        meshRpcOverRawTcpLimit: { target: '>= 0.15', value: ratio(meshRpc.perSec, rawTcp.perSec), met: meshRpc.perSec / rawTcp.perSec >= 0.15 },
        meshRpcOverRawHttp: { target: '>= 0.5', value: ratio(meshRpc.perSec, rawHttp.perSec), met: meshRpc.perSec / rawHttp.perSec >= 0.5 },
        // each round's p99 and the host's longest stall in that round, so a round that missed can be
        // told apart: the code's tail, or the host not running anything for 10 ms
        p99AtHalfPeakMs: {
          target: `<= 5 (the median of ${ROUNDS} rounds; per round ${perRound('meshAtHalf', x => ms(x.p99Us))} ms, an idle probe's longest stall ${perRound('meshAtHalf', x => x.host?.maxMs ?? NaN)} ms)`,
          value: ms(meshAtHalf.p99Us),
          met: meshAtHalf.p99Us <= 5_000
        },
        // an external service as fast as the built-in echo: the socket endpoint; the HTTP one is reported beside it
        externalServiceOverBuiltin: { target: '>= 0.8 (the gateway to an echo process on an rpc+unix endpoint over the gateway to builtin:echo)', value: ratio(gatewaySocket.perSec, gatewayPath.perSec), met: gatewaySocket.perSec / gatewayPath.perSec >= 0.8 },
        gatewayOverRawHttp: { target: '>= 0.35', value: ratio(gatewayPath.perSec, rawHttp.perSec), met: gatewayPath.perSec / rawHttp.perSec >= 0.35 }
      }
    }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
    for (const c of children) c.kill('SIGKILL')
    await killAll(daemons)
    await dir.cleanup()
  }
}
