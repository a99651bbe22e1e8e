import '../../lib/polyfill.js'
import { Agent } from 'node:http'
import { connect as http2Connect } from 'node:http2'
import { createInterface } from 'node:readline'
import { createNode } from '../../lib/node/index.js'
import { waitFor } from '../utils/wait-for.js'
import { closedLoop, http2Poster, httpPoster, type Call } from './loops.js'
import { openLoop } from './open-loop.js'
import { RawTcpClient } from './raw-tcp.js'

/**
 * A load driver in a process of its own, for one side of the RPC benchmark
 * (`load-driver.ts` starts it). Each measured side gets a fresh process
 * holding only its own client and its own loops' garbage: a driver shared by
 * every side carried the HTTP/2 and gateway baselines' garbage into the
 * mesh's windows (collections of 5-9 ms in the process holding the mesh
 * client), and the garbage of the mesh into theirs.
 *
 * argv[2]: the side, as JSON (`DriverTarget`). Prints `ready` once its
 * client can call, then takes one JSON command per line on stdin and
 * answers each with one JSON line: `{ op: 'closed', concurrency, warmupMs,
 * runMs }` or `{ op: 'open', rate, warmupMs, runMs }` -> the loop's
 * figures, or `{ error }`.
 */
export type DriverTarget =
  | { kind: 'mesh', bootstrap: string, service: string, payloadBytes: number }
  | { kind: 'raw-tcp', port: number, payloadBytes: number }
  | { kind: 'http', url: string, concurrency: number, payloadBytes: number }
  | { kind: 'http2', url: string, payloadBytes: number }

async function callFor (target: DriverTarget, closers: Array<() => Promise<void>>): Promise<Call> {
  const payload = new Uint8Array(target.payloadBytes).fill(0x61)
  if (target.kind === 'mesh') {
    const client = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', bootstrap: [target.bootstrap] })
    closers.push(async () => { await client.stop() })
    await waitFor(async () => (await client.services.registry.resolve(target.service, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.instances.some(i => i.healthy) === true,
      { timeoutMs: 60_000, what: `the driver to resolve ${target.service}` })
    // not an async function: an async frame per call is garbage in the process that holds the client
    const check = (res: { payload: Uint8Array }): void => { if (res.payload.byteLength !== payload.byteLength) throw new Error('short answer') }
    return () => client.services.rpc.call(target.service, 'x', payload).then(check)
  }
  if (target.kind === 'raw-tcp') {
    const tcp = await RawTcpClient.connect(target.port)
    closers.push(async () => { tcp.close() })
    return () => tcp.call(payload)
  }
  if (target.kind === 'http') {
    const agent = new Agent({ keepAlive: true, maxSockets: target.concurrency })
    closers.push(async () => { agent.destroy() })
    return httpPoster(target.url, agent, payload)
  }
  const session = http2Connect(target.url, { maxSessionMemory: 1000 })
  await new Promise<void>((resolve, reject) => { session.once('connect', () => { resolve() }); session.once('error', reject) })
  // a session that fails later fails the calls on it, which the loops count
  session.on('error', () => {})
  closers.push(async () => { session.close() })
  return http2Poster(session, payload)
}

const closers: Array<() => Promise<void>> = []
const call = await callFor(JSON.parse(process.argv[2]!) as DriverTarget, closers)
process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue
  try {
    const cmd = JSON.parse(line)
    const result = cmd.op === 'closed'
      ? await closedLoop(call, { concurrency: cmd.concurrency, warmupMs: cmd.warmupMs, runMs: cmd.runMs })
      : await openLoop(call, cmd.rate, { warmupMs: cmd.warmupMs, runMs: cmd.runMs })
    process.stdout.write(JSON.stringify(result) + '\n')
  } catch (err: any) {
    process.stdout.write(JSON.stringify({ error: String(err?.message ?? err) }) + '\n')
  }
}
// stdin closed: the benchmark is done with this side
for (const close of closers.reverse()) await close().catch(() => {})
