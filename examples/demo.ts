// npm run demo: the whole mission on one machine, narrated.
//
// Three daemons on 127.0.0.1 (own repos in a temp dir, `local` profile); the
// example modules published on one; the echo module deployed as a service with
// 2 replicas; calls through a's HTTP gateway; one owner SIGKILLed while calls
// continue; the new owner shown, and every call accounted for. Then everything
// is stopped and the temp dir removed (`--keep` leaves the repos and prints
// where). Exit 0 when every call was answered correctly, 1 otherwise.
import { Agent, request } from 'node:http'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MemberView, RuntimeServiceView } from '../lib/interface/api.js'
import { DaemonProcess, killAll, runCli } from '../simulations/harness/daemon-process.js'
import { distribution } from '../simulations/harness/stats.js'

const MODULES = fileURLToPath(new URL('../../examples/modules', import.meta.url))
/** dependencies before their dependents (shout links text-utils) */
const PUBLISH_ORDER = ['text-utils', 'echo', 'shout', 'counter', 'relay', 'compute']
const CLIENTS = 4
const SERVICE = 'echo'

const t0 = performance.now()
const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`
const say = (s: string): void => { process.stdout.write(s + '\n') }
const step = (n: number, s: string): void => { say(`\n[${n}/6] ${s}`) }
const indent = (s: string): string => s.trimEnd().split('\n').map(l => `      ${l}`).join('\n')

class DemoError extends Error {
  override name = 'DemoError'
}

/** Poll `check` until it returns a value, or fail after `timeoutMs` saying what was awaited. */
async function until<T> (what: string, check: () => Promise<T | undefined>, signal: AbortSignal, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    signal.throwIfAborted()
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new DemoError(`gave up after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

interface Node {
  name: string
  daemon: DaemonProcess
  peerId: string
}

/** Run a CLI command on a node, echoing it the way a user would type it. */
async function noodled (node: Node, args: string[]): Promise<string> {
  say(`\n      $ noodled --repo ${node.daemon.repo} ${args.join(' ')}`)
  const res = await runCli(['--repo', node.daemon.repo, ...args])
  if (res.code !== 0) throw new DemoError(`noodled ${args.join(' ')} on ${node.name} failed: ${res.stderr.trim()}`)
  say(indent(res.stdout))
  return res.stdout
}

async function json<T> (node: Node, args: string[]): Promise<T> {
  const res = await runCli(['--repo', node.daemon.repo, ...args, '--json'])
  if (res.code !== 0) throw new DemoError(`noodled ${args.join(' ')} on ${node.name} failed: ${res.stderr.trim()}`)
  return JSON.parse(res.stdout) as T
}

const runsEcho = async (node: Node): Promise<boolean> =>
  (await json<RuntimeServiceView[]>(node, ['runtime'])).some(s => s.service === SERVICE && s.state === 'running')

/** Steady calls through the gateway from CLIENTS loops until stopped; every answer checked. */
class Load {
  sent = 0
  ok = 0
  readonly failures: string[] = []
  readonly latencies: number[] = []
  /** answered by each owner (the gateway's x-noodle-instance header) */
  readonly byInstance = new Map<string, number>()
  private stopped = false
  private readonly agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
  private readonly loops: Array<Promise<void>>

  constructor (url: string) {
    this.loops = Array.from({ length: CLIENTS }, async (_, c) => {
      while (!this.stopped) {
        const body = `client ${c} call ${this.sent++}`
        const started = performance.now()
        const res = await post(url, body, this.agent).catch((err: Error) => ({ status: 0, body: err.message, instance: '' }))
        this.latencies.push(performance.now() - started)
        if (res.status === 200 && res.body === body) {
          this.ok++
          this.byInstance.set(res.instance, (this.byInstance.get(res.instance) ?? 0) + 1)
        } else {
          this.failures.push(`${res.status} ${res.body.slice(0, 200)}`)
        }
      }
    })
  }

  async stop (): Promise<void> {
    this.stopped = true
    await Promise.all(this.loops)
    this.agent.destroy()
  }
}

async function post (url: string, body: string, agent: Agent): Promise<{ status: number, body: string, instance: string }> {
  return new Promise((resolve, reject) => {
    // idempotent: a call an instance failed mid-way (its owner was killed) may be retried on another
    const req = request(url, { method: 'POST', agent, headers: { 'x-noodle-idempotent': 'true', 'x-noodle-timeout-ms': '15000' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), instance: String(res.headers['x-noodle-instance'] ?? '') }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function demo (dir: string, nodes: Node[], signal: AbortSignal): Promise<boolean> {
  const short = (peerId: string): string => nodes.find(n => n.peerId === peerId)?.name ?? peerId.slice(-6)

  step(1, 'three daemons on 127.0.0.1: b and c bootstrap from a; a also serves the HTTP gateway')
  const start = async (name: string, args: string[]): Promise<Node> => {
    const daemon = await DaemonProcess.start(join(dir, name), ['--log-level', 'warn', ...args])
    const node = { name, daemon, peerId: (await daemon.id()).peerId }
    nodes.push(node)
    return node
  }
  const a = await start('a', ['--gateway', '127.0.0.1:0'])
  const bootstrap = (await a.daemon.id()).addrs[0]!
  const gateway = /gateway: +(http:\/\/\S+)/.exec(a.daemon.stdout)?.[1]
  if (gateway == null) throw new DemoError(`daemon a did not print its gateway address:\n${a.daemon.stdout}`)
  await Promise.all(['b', 'c'].map(async name => start(name, ['--bootstrap', bootstrap])))
  nodes.sort((x, y) => x.name.localeCompare(y.name))
  for (const n of nodes) say(`      ${n.name}  ${n.peerId}  repo ${n.daemon.repo}`)
  say(`      gateway on a: ${gateway}`)
  await until('every daemon to list all three as alive', async () => {
    for (const n of nodes) if ((await json<MemberView[]>(n, ['members', '--status', 'alive'])).length !== 3) return undefined
    return true
  }, signal)
  await noodled(a, ['members'])

  step(2, 'publish the example modules on a (signed by a, content-addressed, announced to the mesh)')
  for (const name of PUBLISH_ORDER) {
    if (!(await stat(join(MODULES, name)).catch(() => undefined))?.isDirectory()) continue
    await noodled(a, ['module', 'publish', relative(process.cwd(), join(MODULES, name))])
  }
  const leftOut = (await readdir(MODULES)).filter(n => !n.includes('.') && !PUBLISH_ORDER.includes(n))
  if (leftOut.length > 0) say(`      (not published by the demo: ${leftOut.join(', ')})`)

  step(3, 'deploy the echo module as a service with 2 replicas; its owners fetch the module from a and run it')
  const spec = join(dir, 'echo.json')
  await writeFile(spec, JSON.stringify({ name: SERVICE, replicas: 2, module: 'echo@^1' }) + '\n')
  say(`      ${spec}: ${await readFile(spec, 'utf8')}`.trimEnd())
  // deployed from c: any member may deploy; the catalog it resolves echo@^1 from reached it by gossip
  await until('the catalog to reach c', async () => ((await runCli(['--repo', nodes[2]!.daemon.repo, 'module', 'resolve', 'echo@^1'])).code === 0 ? true : undefined), signal)
  await noodled(nodes[2]!, ['service', 'deploy', spec])
  const deployedAt = performance.now()
  const owners = await until('two daemons to run echo', async () => {
    const running: Node[] = []
    for (const n of nodes) if (await runsEcho(n)) running.push(n)
    return running.length === 2 ? running : undefined
  }, signal)
  say(`\n      running on ${owners.map(o => o.name).join(' and ')} ${((performance.now() - deployedAt) / 1000).toFixed(1)} s after the deploy`)
  await noodled(owners[0]!, ['runtime'])

  step(4, 'call it through the gateway on a, then keep calling: 4 clients, every answer checked')
  const url = `${gateway}/svc/${SERVICE}/echo`
  const first = await post(url, 'hello, mesh', new Agent())
  say(`      POST ${url}  "hello, mesh"  ->  ${first.status} "${first.body}" (answered by ${short(first.instance)})`)
  if (first.status !== 200) throw new DemoError(`the gateway answered ${first.status}: ${first.body}`)
  const load = new Load(url)
  try {
    await until('200 calls', async () => (load.ok + load.failures.length >= 200 ? true : undefined), signal)
    say(`      ${load.ok} answered so far`)

    // the gateway runs on a, so the victim is an owner that is not a
    const victim = owners.find(o => o !== a)!
    const survivors = nodes.filter(n => n !== victim)
    step(5, `SIGKILL ${victim.name} (an owner of echo) while the calls go on`)
    const killedAt = performance.now()
    const before = load.sent
    await victim.daemon.kill('SIGKILL')
    say(`      ${victim.name} killed at ${elapsed()} (${before} calls sent so far)`)
    const failedAfter = await until(`${survivors.map(s => s.name).join(' and ')} to mark ${victim.name} failed`, async () => {
      for (const n of survivors) {
        const m = (await json<MemberView[]>(n, ['members'])).find(m => m.peerId === victim.peerId)
        if (m?.status !== 'failed') return undefined
      }
      return performance.now() - killedAt
    }, signal)
    say(`      every survivor marks ${victim.name} failed ${(failedAfter / 1000).toFixed(1)} s after the kill`)
    const replacement = survivors.find(n => !owners.includes(n))!
    const runningAfter = await until(`${replacement.name} to run echo`, async () => (await runsEcho(replacement) ? performance.now() - killedAt : undefined), signal)
    say(`      new owner: ${replacement.name}, running echo ${(runningAfter / 1000).toFixed(1)} s after the kill`)
    // the gateway learns of the new instance from c's adverts and the DHT; calls then go to it too
    const routedAfter = await until(`a call through the gateway to be answered by ${replacement.name}`, async () => ((load.byInstance.get(replacement.peerId) ?? 0) > 0 ? performance.now() - killedAt : undefined), signal, 30_000)
    say(`      the gateway's first call answered by ${replacement.name}: ${(routedAfter / 1000).toFixed(1)} s after the kill`)
    await noodled(replacement, ['service', 'status', SERVICE])
    const settled = load.ok
    await until('200 more calls', async () => (load.ok >= settled + 200 ? true : undefined), signal)
  } finally {
    await load.stop()
  }

  step(6, 'what the calls saw')
  const lat = distribution(load.latencies)
  say(`      ${load.sent} sent, ${load.ok} answered correctly, ${load.failures.length} failed`)
  say(`      latency through the gateway: p50 ${lat.p50.toFixed(1)} ms, p99 ${lat.p99.toFixed(1)} ms, max ${lat.max.toFixed(0)} ms (the slowest waited out the kill)`)
  say(`      answered by: ${[...load.byInstance].map(([peer, n]) => `${short(peer)} ${n}`).join(', ')}`)
  for (const f of load.failures.slice(0, 5)) say(`      failed: ${f}`)
  return load.failures.length === 0
}

async function main (): Promise<void> {
  const keep = process.argv.includes('--keep')
  const dir = await mkdtemp(join(tmpdir(), 'noodle-demo-'))
  const nodes: Node[] = []
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort(new DemoError('interrupted')) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  say(`noodled demo: three daemons under ${dir}`)
  let ok = false
  try {
    ok = await demo(dir, nodes, controller.signal)
  } catch (err: any) {
    process.stderr.write(`\ndemo failed: ${err.name === 'DemoError' ? err.message : err.stack}\n`)
    for (const n of nodes) if (n.daemon.stderr.trim() !== '') process.stderr.write(`\n-- ${n.name} stderr (last lines):\n${n.daemon.stderr.trim().split('\n').slice(-10).join('\n')}\n`)
  } finally {
    say('\nstopping the daemons')
    await Promise.all(nodes.map(async n => { await n.daemon.kill('SIGTERM').catch(() => {}) }))
    await killAll(nodes.map(n => n.daemon))
    if (keep) say(`repos kept under ${dir}`)
    else await rm(dir, { recursive: true, force: true })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  say(ok ? `done in ${elapsed()}: every call was answered` : `done in ${elapsed()}: some calls failed (above)`)
  process.exitCode = ok ? 0 : 1
}

await main()
