import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { DeployResultView, ExternalServiceView, InstanceView, ResolveView, RuntimeOwnerView, ServiceStatusView } from '../../../lib/interface/api.js'
import { InvalidRequestError, InvalidServiceSpecError, NotFoundError } from '../../../lib/interface/errors.js'
import { parseDurationMs } from '../../duration.js'
import { table } from '../../printer.js'
import type { CommandRunner } from '../types.js'

const short = (peerId: string): string => peerId.length > 16 ? `…${peerId.slice(-10)}` : peerId

function deployText (r: DeployResultView): string {
  const what = r.dryRun ? `would place ${r.name} on` : `${r.name} placed on`
  const owners = r.owners.length === 0 ? 'no member (none qualifies)' : r.owners.join(', ')
  return `${what} ${owners}\n${r.dryRun ? 'would move' : 'moves'}: ${r.moves} replica(s) of all services`
}

function instanceRows (instances: InstanceView[]): string[][] {
  return instances.map(i => [i.peerId, i.kind, i.healthy ? 'healthy' : 'unhealthy', i.memberStatus, i.announced ? 'yes' : 'no'])
}
const INSTANCE_HEADER = ['PEER ID', 'KIND', 'HEALTH', 'MEMBER', 'ANNOUNCED']

function statusText (s: ServiceStatusView): string {
  const head = `service ${s.name}: ${s.owners.length}/${s.replicas} replicas placed${s.spec.module != null ? `, module ${s.spec.module}` : ''}`
  return s.instances.length === 0 ? `${head}\nno instances` : `${head}\n${table(instanceRows(s.instances), INSTANCE_HEADER)}`
}

function resolveText (r: ResolveView): string {
  const healthy = r.instances.filter(i => i.healthy).length
  const head = `${r.name}: ${healthy} healthy of ${r.instances.length} instance(s)${r.source === 'dht' ? ' (from DHT provider records)' : ''}`
  return r.instances.length === 0 ? head : `${head}\n${table(instanceRows(r.instances), INSTANCE_HEADER)}`
}

function externalText (e: ExternalServiceView): string {
  const check = e.check == null ? 'no check' : e.check.type === 'ttl' ? `ttl ${e.check.ttlMs} ms` : `${e.check.type} every ${e.check.intervalMs} ms`
  return `${e.name} -> ${e.endpoint} (${check}): ${e.status}, ${e.output}`
}

async function readSpec (file: string): Promise<unknown> {
  let text: string
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  } catch (err: any) {
    throw new InvalidRequestError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err: any) {
    throw new InvalidServiceSpecError(`${file} is not JSON: ${err.message}`)
  }
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function historyText (owners: RuntimeOwnerView[]): string {
  return owners.map(o => {
    const head = o.view == null ? `${o.peerId}: ${o.error ?? 'runs nothing for it'}` : `${o.peerId}: ${o.view.state} ${o.view.module ?? o.view.ref}${o.view.probationUntil != null ? ` (on probation until ${o.view.probationUntil})` : ''}`
    if (o.view == null || o.view.history.length === 0) return head
    return `${head}\n${table(o.view.history.map(e => [e.at, e.module, e.outcome, e.cid === '' ? '-' : e.cid, e.error ?? '']), ['AT', 'MODULE', 'OUTCOME', 'CID', 'ERROR'])}`
  }).join('\n\n')
}

export function serviceCommand (program: Command, run: CommandRunner): void {
  const service = program.command('service').description('declare, inspect and remove services (placed by the mesh, no leader)')

  service.command('deploy')
    .description('declare or replace a service from a JSON spec ({ "name": "web", "replicas": 2 } is enough)')
    .argument('<spec.json>', 'spec file, or - for standard input')
    .option('--dry-run', 'print the owners and the moves it would cause, change nothing')
    .option('--json', 'print JSON')
    .action(run(async (ctx, file: string, opts: { dryRun?: boolean }) => {
      const res = await ctx.client.deploy(await readSpec(file), { dryRun: opts.dryRun === true })
      ctx.print(res, deployText)
    }))

  service.command('ls')
    .description('list services with their owners as this node computes them')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const list = await ctx.client.services()
      ctx.print(list, l => l.length === 0
        ? 'no services'
        : table(l.map(s => [s.name, `${s.owners.length}/${s.replicas}`, s.spec.module ?? '-', s.owners.map(short).join(' ')]), ['NAME', 'PLACED', 'MODULE', 'OWNERS']))
    }))

  service.command('status')
    .description('one service: spec, owners and instances')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string) => {
      ctx.print(await ctx.client.service(name), statusText)
    }))

  service.command('scale')
    .description('change the number of replicas')
    .argument('<name>')
    .argument('<replicas>', 'a whole number >= 0')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string, n: string) => {
      if (!/^\d+$/.test(n)) throw new InvalidRequestError(`replicas must be a whole number, got ${JSON.stringify(n)}`)
      ctx.print(await ctx.client.scale(name, Number(n)), deployText)
    }))

  service.command('update')
    .description('run another module version: each owner starts it beside the old, checks its health, switches, drains the old; a failing version is rolled back')
    .argument('<name>')
    .requiredOption('--module <ref>', 'name@range, e.g. echo@^2')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string, opts: { module: string }) => {
      const { spec } = await ctx.client.service(name)
      ctx.print(await ctx.client.deploy({ ...spec, module: opts.module }), deployText)
    }))

  service.command('history')
    .description('the module versions each owner of a service has run, and how each ended (asked over the mesh, from any daemon)')
    .argument('<name>')
    .option('--json', 'print JSON: [{ peerId, view: { module, cid, state, history: [...] } | null, error? }]')
    .action(run(async (ctx, name: string) => {
      const owners = await ctx.client.runtimeHistory(name)
      if (owners.every(o => o.view == null && o.error == null)) throw new NotFoundError(`"${name}" runs on no owner (not a module service, or not placed): noodled service status ${name}`)
      ctx.print(owners, historyText)
    }))

  service.command('resolve')
    .description('live instances of a service (replicas and external instances), from anywhere in the mesh')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string) => {
      ctx.print(await ctx.client.resolve(name), resolveText)
    }))

  service.command('register')
    .description('register a process running beside this daemon as an instance of a service, with a health check')
    .requiredOption('--name <name>', 'service name')
    .requiredOption('--endpoint <url>', 'where it listens: http://127.0.0.1:8080 (POST <url>/<fn>), rpc+unix:///run/x.sock or rpc+tcp://127.0.0.1:7001 (RPC frames), builtin:echo')
    .option('--check <type>', 'http (GET, 2xx passes), tcp (accepts a connection) or ttl (reports in with `service pass`)')
    .option('--path <path>', 'http check: path to GET', '/')
    .option('--interval <duration>', 'http and tcp checks: how often', '5s')
    .option('--timeout <duration>', 'http and tcp checks: how long to wait', '2s')
    .option('--ttl <duration>', 'ttl check: healthy this long after each pass', '30s')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { name: string, endpoint: string, check?: string, path: string, interval: string, timeout: string, ttl: string }) => {
      let check: unknown
      if (opts.check === 'http') check = { type: 'http', path: opts.path, intervalMs: parseDurationMs(opts.interval, '--interval'), timeoutMs: parseDurationMs(opts.timeout, '--timeout') }
      else if (opts.check === 'tcp') check = { type: 'tcp', intervalMs: parseDurationMs(opts.interval, '--interval'), timeoutMs: parseDurationMs(opts.timeout, '--timeout') }
      else if (opts.check === 'ttl') check = { type: 'ttl', ttlMs: parseDurationMs(opts.ttl, '--ttl') }
      else if (opts.check != null) throw new InvalidRequestError(`--check must be http, tcp or ttl, got ${JSON.stringify(opts.check)}`)
      const res = await ctx.client.registerExternal({ name: opts.name, endpoint: opts.endpoint, ...(check != null ? { check } : {}) })
      ctx.print(res, e => `registered ${externalText(e)}`)
    }))

  service.command('deregister')
    .description('remove an external service registered on this daemon')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string) => {
      ctx.print(await ctx.client.deregisterExternal(name), r => `${r.name} deregistered`)
    }))

  service.command('external')
    .description('external services registered on this daemon, with their health')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const list = await ctx.client.externalServices()
      ctx.print(list, l => l.length === 0
        ? 'no external services registered here'
        : table(l.map(e => [e.name, e.endpoint, e.check?.type ?? '-', e.status, e.output]), ['NAME', 'ENDPOINT', 'CHECK', 'STATUS', 'OUTPUT']))
    }))

  service.command('pass')
    .description('report an external service with a ttl check as healthy for another ttl')
    .argument('<name>')
    .option('--note <text>', 'shown as the check output')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string, opts: { note?: string }) => {
      ctx.print(await ctx.client.passCheck(name, opts.note), externalText)
    }))

  service.command('rm')
    .description('delete a service (a tombstone keeps it from coming back from a stale replica)')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string) => {
      ctx.print(await ctx.client.removeService(name), r => `${r.name} deleted`)
    }))
}

export function placementCommand (program: Command, run: CommandRunner): void {
  const placement = program.command('placement').description('how the mesh places services')
  placement.command('explain')
    .description('every member ranked by XOR distance to the service key, with its load and why it was or was not chosen')
    .argument('<service>')
    .option('--json', 'print JSON')
    .action(run(async (ctx, name: string) => {
      const e = await ctx.client.explainPlacement(name)
      ctx.print(e, x => `${x.service}: ${x.owners.length}/${x.replicas} replicas, load cap ${x.cap}\n` + table(
        x.members.map(m => [String(m.rank), `${m.chosen ? '*' : ' '}${m.peerId}`, m.distance.slice(0, 12), String(m.load), m.reason]),
        ['RANK', ' PEER ID', 'DISTANCE', 'LOAD', 'WHY']))
    }))
}
