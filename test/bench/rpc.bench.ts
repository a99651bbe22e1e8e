import type { ChildProcess } from 'node:child_process'
import { Agent } from 'node:http'
import { PerformanceObserver } from 'node:perf_hooks'
import { connect as http2Connect, constants as http2Constants, type ClientHttp2Session } from 'node:http2'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createNode } from '../../lib/node/index.js'
import { DaemonProcess, killAll, startDaemonMesh } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { spawnPrinting } from './child.js'
import { HostProbe, type HostStalls } from './host-probe.js'
import { RAW_TCP_ECHO_SERVER, RawTcpClient } from './raw-tcp.js'
import { closedLoop as closedLoopOf, httpPoster as httpPosterOf, type Call } from './loops.js'
import { acrossRounds, summarise, type LatencyStats } from './stats.js'

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

/** POST the payload as one stream of an HTTP/2 session (all calls multiplexed on its one connection). */
function http2Poster (session: ClientHttp2Session): Call {
  const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS } = http2Constants
  return async () => new Promise<void>((resolve, reject) => {
    const req = session.request({ [HTTP2_HEADER_METHOD]: 'POST', [HTTP2_HEADER_PATH]: '/', 'content-length': PAYLOAD.byteLength })
    let status = 0
    let n = 0
    req.on('response', (headers) => { status = Number(headers[HTTP2_HEADER_STATUS]) })
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => { status === 200 && n === PAYLOAD.byteLength ? resolve() : reject(new Error(`HTTP/2 ${status} (${n} bytes)`)) })
    req.on('error', reject)
    req.end(PAYLOAD)
  })
}

/** Closed loop at this benchmark's concurrency, warm-up and run length. */
async function closedLoop (call: Call): Promise<LatencyStats> {
  return await closedLoopOf(call, { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, runMs: RUN_MS })
}

/**
 * Open loop at `rate` calls/s: OPEN_WARMUP_MS at that rate uncounted, then
 * RUN_MS counted, latency from when each call was due, so a stall delays
 * the calls behind it in the figures too (no coordinated omission). The
 * warm-up is there because each open loop follows a closed loop at some
 * peak: without it, the first half second paid for the garbage and the
 * grown queues that loop left (in the driver and in the daemons), which is
 * not the latency at this rate.
 */
async function openLoop (call: Call, rate: number, host: HostProbe): Promise<LatencyStats> {
  const errors: string[] = []
  // calls still out, counted, not kept in a Set: the driver must not make garbage that outlives
  // the young generation (a Set entry added and deleted per call does: docs/design.md, "RPC hot
  // path"), or its own full collections, 25-50 ms with the heap this process holds, land in
  // whichever figure is being measured
  let outstanding = 0
  let issuing = true
  let allAnswered: () => void = () => {}
  const answered = new Promise<void>(resolve => { allAnswered = resolve })
  const started = performance.now()
  const measureFrom = started + OPEN_WARMUP_MS
  const total = Math.round(rate * (OPEN_WARMUP_MS + RUN_MS) / 1000)
  // one array of the final size: an array grown by push is copied again and again while young,
  // every copy surviving a scavenge, in the same process as the client being measured
  const samples = new Float64Array(total)
  let counted = 0
  // the driver's own pauses in the counted window, reported beside the figure: a full collection
  // here delays every call in flight, whichever side is measured
  const driver = new DriverPauses(measureFrom)
  // a second's worth of calls unanswered: the side measured cannot keep up with this rate, and
  // issuing the rest only piles up work (a node:http2 session with tens of thousands of streams
  // open held the driver at a full core and 1.5 GB for minutes); the round is counted overloaded
  let cutOff = false
  for (let i = 0; i < total; i++) {
    if (outstanding > rate) { cutOff = true; break }
    const due = started + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise(resolve => setTimeout(resolve, wait))
    // from when it was due (a stall delays the calls behind it, no coordinated omission), or
    // from when it left if that was earlier: a call sent up to 1 ms early (not worth a timer)
    // is not credited with negative latency
    const from = Math.min(due, performance.now())
    const measured = due >= measureFrom
    outstanding++
    call().then(() => {
      if (measured) samples[counted++] = (performance.now() - from) * 1000
      if (--outstanding === 0 && !issuing) allAnswered()
    }, (err: Error) => {
      // counted, not thrown: a baseline that fails under the load says so in its figures
      if (measured) errors.push(err.message)
      if (--outstanding === 0 && !issuing) allAnswered()
    })
  }
  issuing = false
  const issuedLate = performance.now() - started > (OPEN_WARMUP_MS + RUN_MS) * 1.1
  if (outstanding === 0) allAnswered()
  await answered
  // the schedule ended RUN_MS after the warm-up: a driver still issuing well past that, or answers
  // still outstanding half a run later, mean the offered rate was more than the driver and client
  // (one JS thread issuing, say, 270k calls/s open loop, far costlier a call than a closed loop)
  // could sustain; the latencies then measure an ever-growing queue, not the transport
  const overloaded = cutOff || issuedLate || performance.now() - measureFrom > RUN_MS * 1.5
  const ended = performance.now()
  const stats = summarise(samples.subarray(0, counted), ended - measureFrom)
  const hostStalls = await host.between(performance.timeOrigin + measureFrom, performance.timeOrigin + ended)
  return { ...stats, rate, driver: driver.stop(), host: hostStalls, ...(errors.length > 0 ? { errors: errors.length, firstError: errors[0] } : {}), ...(overloaded ? { overloaded } : {}) } as LatencyStats
}

/** GC pauses of this process (the load driver) from `from` on: how many, their total and the longest, in ms. */
class DriverPauses {
  private readonly from: number
  private readonly observer: PerformanceObserver
  private n = 0
  private totalMs = 0
  private maxMs = 0

  constructor (from: number) {
    this.from = from
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.startTime < this.from) continue
        this.n++
        this.totalMs += e.duration
        this.maxMs = Math.max(this.maxMs, e.duration)
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }

  stop (): { gcPauses: number, gcMs: number, gcMaxMs: number } {
    this.observer.disconnect()
    return { gcPauses: this.n, gcMs: Math.round(this.totalMs * 10) / 10, gcMaxMs: Math.round(this.maxMs * 10) / 10 }
  }
}

function httpPoster (url: string, agent: Agent): Call {
  return httpPosterOf(url, agent, PAYLOAD)
}

/**
 * `npm run bench:rpc`: two daemon processes (A with the gateway, B hosting
 * `echo` = builtin:echo), 256-byte payloads, 64 calls at a time:
 * (a) mesh RPC from a noodled node in this process (the same code as a
 *     daemon) to B; (b) HTTP client -> A's gateway -> mesh -> B; (x) the
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
 * half its own peak.
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

    const client = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', bootstrap: [boot] })
    closers.push(async () => client.stop())
    await waitFor(async () => (await client.services.registry.resolve('echo', { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.instances.some(i => i.healthy) === true,
      { timeoutMs: 60_000, what: 'the bench node to resolve echo' })
    await waitFor(async () => {
      const res = await a.cli('service', 'resolve', 'echo', '--json')
      return res.code === 0 && (JSON.parse(res.stdout) as { instances: Array<{ healthy: boolean }> }).instances.some(i => i.healthy)
    }, { timeoutMs: 60_000, what: 'daemon A to resolve echo' })

    // not async functions: an async frame per call is garbage in the process that holds the client
    const checkEcho = (res: { payload: Uint8Array }): void => { if (res.payload.byteLength !== PAYLOAD.byteLength) throw new Error('short answer') }
    const meshCall: Call = () => client.services.rpc.call('echo', 'x', PAYLOAD).then(checkEcho)

    const httpServer = await spawnPrinting(['-e', HTTP_ECHO_SERVER])
    children.push(httpServer.proc)
    // the same echo process as an external service of B: the path every non-wasm service takes
    const xreg = await b.cli('service', 'register', '--name', 'xecho', '--endpoint', `http://127.0.0.1:${httpServer.line}`)
    if (xreg.code !== 0) throw new Error(`register: ${xreg.stderr}`)
    await waitFor(async () => {
      const res = await a.cli('service', 'resolve', 'xecho', '--json')
      return res.code === 0 && (JSON.parse(res.stdout) as { instances: Array<{ healthy: boolean }> }).instances.some(i => i.healthy)
    }, { timeoutMs: 60_000, what: 'daemon A to resolve xecho' })
    // the same echo speaking the RPC frames on a Unix socket (rpc+unix://), registered on B: the
    // external path without HTTP (what noodle.serve in the Python package speaks)
    const framesServer = await spawnPrinting([fileURLToPath(new URL('./fixtures/frames-echo-server.js', import.meta.url)), join(dir.path, 'frames-echo.sock')])
    children.push(framesServer.proc)
    const sreg = await b.cli('service', 'register', '--name', 'secho', '--endpoint', framesServer.line, '--check', 'tcp', '--interval', '1s')
    if (sreg.code !== 0) throw new Error(`register: ${sreg.stderr}`)
    await waitFor(async () => {
      const res = await a.cli('service', 'resolve', 'secho', '--json')
      return res.code === 0 && (JSON.parse(res.stdout) as { instances: Array<{ healthy: boolean }> }).instances.some(i => i.healthy)
    }, { timeoutMs: 60_000, what: 'daemon A to resolve secho' })
    const http2Server = await spawnPrinting(['-e', HTTP2_ECHO_SERVER])
    children.push(http2Server.proc)
    const h2 = http2Connect(`http://127.0.0.1:${http2Server.line}`, { maxSessionMemory: 1000 })
    await new Promise<void>((resolve, reject) => { h2.once('connect', () => { resolve() }); h2.once('error', reject) })
    // a session that fails later fails the calls on it, which the loops count
    h2.on('error', () => {})
    closers.push(async () => { h2.close() })
    const http2Call = http2Poster(h2)
    const tcpServer = await spawnPrinting(['-e', RAW_TCP_ECHO_SERVER])
    children.push(tcpServer.proc)
    const tcpClient = await RawTcpClient.connect(Number(tcpServer.line))
    closers.push(async () => { tcpClient.close() })
    const rawTcpCall: Call = () => tcpClient.call(PAYLOAD)
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

    const agentB = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    const agentC = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    closers.push(async () => { agentB.destroy(); agentC.destroy() })

    const rounds: Array<Record<string, LatencyStats>> = []
    for (let r = 0; r < ROUNDS; r++) {
      process.stderr.write(`rpc round ${r + 1}/${ROUNDS}\n`)
      const got: Record<string, LatencyStats> = {}
      got.rawTcp = await closedLoop(rawTcpCall)
      got.meshRpc = await closedLoop(meshCall)
      got.gateway = await closedLoop(httpPoster(`${gateway}/svc/echo/x`, agentB))
      got.gatewayExternal = await closedLoop(httpPoster(`${gateway}/svc/xecho/x`, agentB))
      got.gatewaySocket = await closedLoop(httpPoster(`${gateway}/svc/secho/x`, agentB))
      got.rawHttp = await closedLoop(httpPoster(`http://127.0.0.1:${httpServer.line}/`, agentC))
      got.http2 = await closedLoop(http2Call)
      // a stream per request is far from the others: once is enough to show it
      if (r === 0) got.vanillaLibp2p = await closedLoop(streamPerRequest)
      // tails, open loop: each side at the mesh's half peak, and at half of its own peak
      const halfRate = Math.round(got.meshRpc.perSec / 2)
      got.meshAtHalf = await openLoop(meshCall, halfRate, host)
      got.rawTcpAtMeshHalf = await openLoop(rawTcpCall, halfRate, host)
      const rawTcpHalfRate = Math.round(got.rawTcp.perSec / 2)
      got.rawTcpAtOwnHalf = await openLoop(rawTcpCall, rawTcpHalfRate, host)
      // beside HTTP, a rate below both peaks (half the smaller): at the mesh's half peak HTTP is
      // past its own capacity, queues, and its tail says nothing about its latency
      const httpRate = Math.round(Math.min(got.meshRpc.perSec, got.rawHttp.perSec) / 2)
      got.meshAtHttpRate = await openLoop(meshCall, httpRate, host)
      got.rawHttpAtHalf = await openLoop(httpPoster(`http://127.0.0.1:${httpServer.line}/`, agentC), httpRate, host)
      const rawHalfRate = Math.round(got.rawHttp.perSec / 2)
      got.rawHttpAtOwnHalf = await openLoop(httpPoster(`http://127.0.0.1:${httpServer.line}/`, agentC), rawHalfRate, host)
      const http2Rate = Math.round(Math.min(got.meshRpc.perSec, got.http2.perSec) / 2)
      got.meshAtHttp2Rate = await openLoop(meshCall, http2Rate, host)
      got.http2AtMeshHalf = await openLoop(http2Call, http2Rate, host)
      const http2HalfRate = Math.round(got.http2.perSec / 2)
      got.http2AtOwnHalf = await openLoop(http2Call, http2HalfRate, host)
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
