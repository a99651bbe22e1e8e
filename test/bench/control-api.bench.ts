import { spawn, execFile } from 'node:child_process'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { DaemonProcess, CLI } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { summarise, type LatencyStats } from './stats.js'

const WARMUP = 200
const REQUESTS = 3_000
const CLI_RUNS = 30

/** A bare Node HTTP server on a Unix socket answering what /health answers: the floor for our API. */
const BASELINE_SERVER = `
const http = require('node:http')
const started = Date.now()
http.createServer((req, res) => {
  const body = JSON.stringify({ status: 'ok', uptimeSec: Math.round((Date.now() - started) / 1000) })
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}).listen(process.argv[1], () => { process.stdout.write('ready\\n') })
`

async function get (agent: Agent, socketPath: string, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath, path, agent }, (res) => {
      res.resume().on('end', () => {
        if (res.statusCode === 200) resolve()
        else reject(new Error(`HTTP ${res.statusCode}`))
      })
    })
    req.on('error', reject)
    req.end()
  })
}

interface Target { socketPath: string, path: string }

/**
 * Sequential keep-alive requests to each target, interleaved in rounds so
 * that JIT warm-up and machine noise fall on all of them alike.
 */
async function interleaved (targets: Target[], rounds = 6): Promise<LatencyStats[]> {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: 1 }))
  const samples: number[][] = targets.map(() => [])
  const wall: number[] = targets.map(() => 0)
  for (const [i, t] of targets.entries()) {
    for (let w = 0; w < WARMUP; w++) await get(agents[i]!, t.socketPath, t.path)
  }
  const perRound = Math.ceil(REQUESTS / rounds)
  for (let r = 0; r < rounds; r++) {
    for (const [i, t] of targets.entries()) {
      const t0 = performance.now()
      for (let k = 0; k < perRound; k++) {
        const s = process.hrtime.bigint()
        await get(agents[i]!, t.socketPath, t.path)
        samples[i]!.push(Number(process.hrtime.bigint() - s) / 1e3)
      }
      wall[i]! += performance.now() - t0
    }
  }
  agents.forEach(a => { a.destroy() })
  return samples.map((s, i) => summarise(s, wall[i]!))
}

/**
 * Start each command `CLI_RUNS` times, taking turns (A B A B ...), so both
 * see the same host over the same minutes: ten runs of one and then ten of
 * the other once read 1.71 where 30 interleaved read 1.43 minutes later.
 */
async function timeCommands (commands: Array<[file: string, args: string[]]>): Promise<LatencyStats[]> {
  const samples: number[][] = commands.map(() => [])
  const wall = commands.map(() => 0)
  for (let i = 0; i < CLI_RUNS; i++) {
    for (const [k, [file, args]] of commands.entries()) {
      const t0 = performance.now()
      const s = process.hrtime.bigint()
      await new Promise<void>((resolve, reject) => {
        execFile(file, args, (err) => { if (err != null) reject(err); else resolve() })
      })
      samples[k]!.push(Number(process.hrtime.bigint() - s) / 1e3)
      wall[k]! += performance.now() - t0
    }
  }
  return samples.map((x, k) => summarise(x, wall[k]!))
}

/**
 * Control API liveness: GET /api/v1/health on a real daemon process against a
 * bare Node HTTP server on a Unix socket (same run, same client), and the
 * whole `noodled status --json` CLI round trip against starting node alone.
 */
export async function controlApiBench (): Promise<Record<string, unknown>> {
  const dir = await tmpDir()
  const daemon = await DaemonProcess.start(join(dir.path, 'a'))
  const baselineSock = join(dir.path, 'base.sock')
  const baseline = spawn(process.execPath, ['-e', BASELINE_SERVER, baselineSock], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    await new Promise<void>((resolve, reject) => {
      baseline.stdout.once('data', () => { resolve() })
      baseline.once('exit', (code) => { reject(new Error(`baseline server exited ${code}`)) })
    })
    const apiSock = join(daemon.repo, 'api.sock')
    const [base, health, status] = await interleaved([
      { socketPath: baselineSock, path: '/api/v1/health' },
      { socketPath: apiSock, path: '/api/v1/health' },
      { socketPath: apiSock, path: '/api/v1/status' }
    ]) as [LatencyStats, LatencyStats, LatencyStats]
    const [cliBase, cli] = await timeCommands([[process.execPath, ['-e', '0']], [process.execPath, [CLI, '--repo', daemon.repo, 'status', '--json']]]) as [LatencyStats, LatencyStats]
    return {
      name: 'control-api',
      requests: REQUESTS,
      health: { noodled: health, baselineRawNodeHttp: base, p50Ratio: round2(health.p50Us / base.p50Us), p99Ratio: round2(health.p99Us / base.p99Us) },
      status: { noodled: status, p50Ratio: round2(status.p50Us / base.p50Us) },
      cliStatus: { noodled: cli, baselineNodeStartup: cliBase, p50Ratio: round2(cli.p50Us / cliBase.p50Us) },
      goals: {
        cliStatusOverNodeStart: { value: round2(cli.p50Us / cliBase.p50Us), goal: '<= 1.5 (noodled status --json p50 over node -e "" p50)', met: cli.p50Us / cliBase.p50Us <= 1.5 }
      }
    }
  } finally {
    baseline.kill()
    await daemon.kill('SIGTERM')
    await dir.cleanup()
  }
}

function round2 (x: number): number {
  return Math.round(x * 100) / 100
}
