import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { DeployResultView, ServiceStatusView } from '../../../lib/interface/api.js'
import { InvalidRequestError, InvalidServiceSpecError } from '../../../lib/interface/errors.js'
import { table } from '../../printer.js'
import type { CommandRunner } from '../types.js'

const short = (peerId: string): string => peerId.length > 16 ? `…${peerId.slice(-10)}` : peerId

function deployText (r: DeployResultView): string {
  const what = r.dryRun ? `would place ${r.name} on` : `${r.name} placed on`
  const owners = r.owners.length === 0 ? 'no member (none qualifies)' : r.owners.join(', ')
  return `${what} ${owners}\n${r.dryRun ? 'would move' : 'moves'}: ${r.moves} replica(s) of all services`
}

function statusText (s: ServiceStatusView): string {
  const lines = [`service ${s.name}: ${s.owners.length}/${s.replicas} replicas placed${s.spec.module != null ? `, module ${s.spec.module}` : ''}`]
  for (const i of s.instances) lines.push(`  ${i.peerId}  ${i.healthy ? 'healthy' : 'unhealthy'}`)
  return lines.join('\n')
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
