import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds } from '../harness/proc-cpu.js'
import type { DaemonProcess } from '../harness/daemon-process.js'
import type { Network, SimNode } from '../harness/network.js'
import { distribution, type Distribution } from '../harness/stats.js'

/**
 * Poll a condition with a deadline. Conditions over recorded events are
 * cheap and polled every 50 ms; a condition that asks every daemon
 * something (N requests) takes a longer `intervalMs`, or the polling itself
 * loads the machine being measured.
 */
export async function until (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** How often a condition that asks every daemon is polled (see `until`). */
export const POLL_DAEMONS_MS = 500

/** True when `observer` has reported a join for every other node in `nodes`. */
export function knowsAll (net: Network, observer: SimNode, nodes: SimNode[]): boolean {
  return nodes.every(n => n === observer || net.eventAt(observer, n.peerId, 'join') != null)
}

export interface JoinFigures {
  /** false when the mesh did not converge within the deadline; the figures then describe where it stood */
  converged: boolean
  /** from the last node's ready line until every node has listed every other (ms) */
  convergenceMs: number
  /** members each node had listed (others only) when measured */
  knownPerNode: Distribution
  /** per node: when it had listed all others, relative to the last ready line */
  perNodeMs: number[]
  startAllMs: number
}

/**
 * Start the network (or top it back up to `nodes` after an earlier scenario
 * killed some) and wait until every live node lists every other. `join` is
 * the start's convergence when this call started the whole network.
 */
export async function ensureNetwork (net: Network, nodes: number, progress: (phase: string) => void): Promise<JoinFigures | undefined> {
  const startedAt = Date.now()
  const started = await net.start(nodes)
  progress('converging')
  const join = await measureJoin(net, startedAt)
  if (!join.converged) throw new Error(`the network did not converge: members listed per node ${JSON.stringify(join.knownPerNode)}`)
  return started === nodes ? join : undefined
}

export async function measureJoin (net: Network, startedAt: number, deadlineMs = 120_000): Promise<JoinFigures> {
  const nodes = net.live()
  const lastReady = Math.max(...nodes.map(n => n.daemon.readyAt ?? 0))
  const known = (): number[] => nodes.map(o => nodes.filter(n => n !== o && net.eventAt(o, n.peerId, 'join') != null).length)
  try {
    await until(() => nodes.every(o => knowsAll(net, o, nodes)), deadlineMs, 'every node to list every other')
  } catch {
    // report where the mesh stood rather than nothing
    return { converged: false, convergenceMs: Date.now() - lastReady, knownPerNode: distribution(known()), perNodeMs: [], startAllMs: lastReady - startedAt }
  }
  const perNode = nodes.map(o => Math.max(...nodes.filter(n => n !== o).map(n => net.eventAt(o, n.peerId, 'join')!)) - lastReady)
  return { converged: true, convergenceMs: Math.max(0, ...perNode), knownPerNode: distribution(known()), perNodeMs: perNode.map(v => Math.max(0, v)), startAllMs: lastReady - startedAt }
}

export interface IdleFigures {
  windowMs: number
  cpuPercentOfCore: Distribution
  /**
   * Same window, same machine: one daemon with no peers at all (its timers,
   * metrics and membership ticking alone). Mesh members' CPU minus this is
   * what being in the mesh costs: membership (adverts, probes, suspicion,
   * anti-entropy, topology) plus libp2p's upkeep of the connections (DHT,
   * gossipsub heartbeats), an upper bound on membership's own work.
   */
  loneDaemonCpuPercentOfCore?: number
  /** mean mesh member CPU minus the lone daemon's */
  meshCostPercentOfCore?: number
  bytesPerSecIn: Distribution
  bytesPerSecOut: Distribution
}

/**
 * CPU (from /proc) and membership payload bytes (from each daemon's stats)
 * over an idle window. CPU is the whole daemon process: membership plus
 * libp2p upkeep (DHT, gossipsub heartbeats, connection monitor).
 */
export async function measureIdle (net: Network, windowMs: number, lone?: DaemonProcess): Promise<IdleFigures> {
  const nodes = net.live()
  const before = await Promise.all(nodes.map(async n => ({ cpu: await cpuSeconds(n.daemon.proc.pid!), stats: await n.client.membershipStats() })))
  const loneBefore = lone != null ? { cpu: await cpuSeconds(lone.proc.pid!), at: Date.now() } : undefined
  const t0 = Date.now()
  await sleep(windowMs)
  const loneAfter = lone != null ? { cpu: await cpuSeconds(lone.proc.pid!), at: Date.now() } : undefined
  const after = await Promise.all(nodes.map(async n => ({ cpu: await cpuSeconds(n.daemon.proc.pid!), stats: await n.client.membershipStats() })))
  const secs = (Date.now() - t0) / 1000
  const percent = (cpuSecs: number, overSecs = secs): number => Math.round((cpuSecs / overSecs) * 1000) / 10
  const cpu = nodes.map((_, i) => percent(after[i]!.cpu - before[i]!.cpu))
  const bin = nodes.map((_, i) => Math.round((after[i]!.stats.bytesReceived - before[i]!.stats.bytesReceived) / secs))
  const bout = nodes.map((_, i) => Math.round((after[i]!.stats.bytesSent - before[i]!.stats.bytesSent) / secs))
  const figures: IdleFigures = { windowMs, cpuPercentOfCore: distribution(cpu), bytesPerSecIn: distribution(bin), bytesPerSecOut: distribution(bout) }
  if (loneBefore != null && loneAfter != null) {
    figures.loneDaemonCpuPercentOfCore = percent(loneAfter.cpu - loneBefore.cpu, (loneAfter.at - loneBefore.at) / 1000)
    figures.meshCostPercentOfCore = Math.round((figures.cpuPercentOfCore.mean - figures.loneDaemonCpuPercentOfCore) * 10) / 10
  }
  return figures
}

export interface VerdictOrigins {
  /** failed events whose observer's own suspicion ran out, and those taken from another's claim */
  failedByTimeout: number
  failedByClaim: number
  /** distinct daemons that declared a failure on their own timer */
  judges: number
  /** suspect events from the observer's own probe (no answer / dial refused) and from claims */
  suspectByNoAck: number
  suspectByRefused: number
  suspectByClaim: number
}

/** Where suspect and failed verdicts came from, over every daemon's events since `since`. */
export function verdictOrigins (net: Network, since = 0): VerdictOrigins {
  const all = net.nodes.flatMap(n => n.events.filter(e => e.at >= since))
  const count = (type: string, reason: string): number => all.filter(e => e.type === type && e.reason === reason).length
  return {
    failedByTimeout: count('failed', 'timeout'),
    failedByClaim: count('failed', 'claim'),
    judges: new Set(all.filter(e => e.type === 'failed' && e.reason === 'timeout').map(e => e.by)).size,
    suspectByNoAck: count('suspect', 'no-ack'),
    suspectByRefused: count('suspect', 'refused'),
    suspectByClaim: count('suspect', 'claim')
  }
}

/** The status `observer` holds for `peerId` now: its last event about it since its daemon last started. */
export function statusOf (observer: SimNode, peerId: string): string | undefined {
  const since = observer.lives[observer.lives.length - 1]!.from
  for (let i = observer.events.length - 1; i >= 0; i--) {
    const e = observer.events[i]!
    if (e.at < since) return undefined
    if (e.peerId === peerId) return e.status
  }
  return undefined
}

/** Every live node holds every other live node alive, and no killed node alive. */
export function allAlive (net: Network): boolean {
  const live = net.live()
  const dead = net.nodes.filter(n => n.killed)
  return live.every(o => live.every(n => n === o || statusOf(o, n.peerId) === 'alive') && dead.every(d => statusOf(o, d.peerId) !== 'alive'))
}
