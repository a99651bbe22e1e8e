import { join } from 'node:path'
import { ApiClient } from '../../lib/client/index.js'
import type { MemberEventType, MemberEventView } from '../../lib/interface/api.js'
import { repoPaths } from '../../lib/repo/paths.js'
import type { LogLevel } from '../../lib/repo/config.js'
import { initRepo } from '../../lib/repo/init.js'
import type { ConfigInput } from '../../lib/repo/config.js'
import { DaemonProcess, killAll } from './daemon-process.js'
import { hostAddress, type NetnsLab } from './netns.js'

/** A control-API call's limit where the runner does not set one. */
export const DEFAULT_API_TIMEOUT_MS = 60_000

/**
 * The control-API limit for a network of `nodes` daemons: 3 s per daemon,
 * never under the default. Idle daemons share the host's CPUs, so the one
 * asked to deploy gets a share that shrinks with N.
 */
export function apiTimeoutFor (nodes: number): number {
  return perDaemonLimit(nodes, DEFAULT_API_TIMEOUT_MS)
}

/**
 * 3 s per daemon in the network, never under `floorMs`: the limits that
 * wait on a daemon's share of a host all N daemons share (control API,
 * readiness, a deploy running everywhere).
 */
export function perDaemonLimit (nodes: number, floorMs: number): number {
  return Math.max(floorMs, nodes * 3_000)
}

/** How long a daemon may take to print that it is ready, where the runner does not set it. */
export const DEFAULT_READY_TIMEOUT_MS = 120_000

/**
 * The readiness limit for a network of `nodes` daemons: 3 s per daemon,
 * never under the default. A newcomer loads its code on a host whose CPUs
 * the running daemons already share: at N = 100 (load average ~100 on 2
 * cores) one logged its first line (a bootstrap dial that failed) 111 s
 * after its spawn,
 * and a 120 s limit failed the whole run at the 97th daemon.
 */
export function readyTimeoutFor (nodes: number): number {
  return perDaemonLimit(nodes, DEFAULT_READY_TIMEOUT_MS)
}

/** bootstrap addresses each newcomer is given (see Network.bootstrap) */
export const BOOTSTRAP_SEEDS = 3

/** Which of `live` daemons (by position) a newcomer bootstraps from: the first, then others evenly spread. */
export function seedPositions (live: number, seeds = BOOTSTRAP_SEEDS): number[] {
  const spread = Array.from({ length: seeds }, (_, i) => Math.floor((i * live) / seeds))
  return [...new Set(spread)].filter(i => i < live)
}

export interface SimNode {
  index: number
  daemon: DaemonProcess
  client: ApiClient
  peerId: string
  /** the address others bootstrap from (learnt once per run of the daemon) */
  addr?: string
  /** member events as this node reported them, with the time parsed (epoch ms) */
  events: Array<MemberEventView & { at: number }>
  killed: boolean
  /** when each run of this node's daemon was spawned, and when it was killed (epoch ms) */
  lives: Array<{ from: number, to?: number }>
  stream: AbortController
}

export interface NetworkInit {
  /** directory for the repos */
  dir: string
  /** how many daemons may be starting at once (staggering; 2 cores) */
  concurrency?: number
  /** extra `noodled start` flags for every daemon */
  args?: string[]
  onProgress?: (started: number, total: number) => void
  /**
   * Node.js flags for the daemon processes, e.g. `--cpu-prof` (NODE_OPTIONS
   * refuses the profiler flags); `(index) => flags` to pick nodes.
   */
  nodeArgs?: (index: number) => string[]
  /** config.json settings for every daemon (the repo is initialised with them) */
  config?: ConfigInput
  /**
   * How long a control-API call to one daemon may take (default 60 s). The
   * runner scales it with N: on a host whose CPUs are saturated by N idle
   * daemons, a deploy or publish that needs a second of CPU gets ~2/N of it
   * (measured at N = 100: `POST /api/v1/modules` took over 60 s).
   */
  apiTimeoutMs?: number
  /** how long a starting daemon may take to be ready (default 120 s; the runner scales it with N, readyTimeoutFor) */
  readyTimeoutMs?: number
  /** the daemons' `--log-level` (default `warn`: at N = 100 anything more costs CPU the run is short of) */
  logLevel?: LogLevel
  /**
   * `DEBUG` for the daemons: the components' own debug logs (libp2p's logger,
   * e.g. `noodled:runtime*,noodled:registry*`), on stderr beside the JSON lines
   */
  debug?: string
  /** a directory for each daemon's whole log (`n<index>.log`, stderr's JSON lines); none kept by default */
  logDir?: string
  /**
   * Run each daemon in its own network namespace with its own address
   * (`--profile lan`, real partitions); set up by the caller.
   */
  netns?: NetnsLab
}

/**
 * N real `noodled start` processes on 127.0.0.1 (profile `local`, own repos,
 * ephemeral ports) or each in its own network namespace (`netns`, profile
 * `lan`, 198.18.x.y:4001), bootstrapped from the first live one. Each node's member
 * event stream is followed from the moment it is ready, so scenario timings
 * come from the daemons' own event times, not from polling.
 */
export class Network {
  readonly nodes: SimNode[] = []
  private readonly init: NetworkInit
  private nextIndex = 0

  constructor (init: NetworkInit) {
    this.init = init
  }

  /**
   * Start daemons until `n` are live: the first on its own, the rest
   * bootstrapped from it, at most `concurrency` starting at once. On a
   * network that already runs (a scenario after another), it tops the live
   * count back up to `n`; returns how many it started.
   */
  async start (n: number): Promise<number> {
    const wanted = n - this.live().length
    if (wanted <= 0) return 0
    let started = 0
    if (this.live().length === 0) {
      await this.addNode()
      started++
      this.init.onProgress?.(1, n)
    }
    const concurrency = this.init.concurrency ?? 4
    const worker = async (): Promise<void> => {
      while (started < wanted) {
        started++
        await this.addNode()
        this.init.onProgress?.(this.live().length, n)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, wanted - started) }, worker))
    return wanted
  }

  /**
   * Where a newcomer joins: the first live node and up to BOOTSTRAP_SEEDS - 1
   * others spread over the live ones, as an operator lists several seeds. With
   * the first node alone, at N = 100 on 2 cores the last 12 newcomers timed out
   * dialling it for 20 minutes (it was as starved as every other daemon) and the
   * mesh never converged; any one seed that answers is enough.
   */
  private async bootstrap (): Promise<string[]> {
    const live = this.live()
    const addrs = await Promise.all(seedPositions(live.length).map(async i => await this.addrOf(live[i])))
    return addrs.filter((a): a is string => a != null)
  }

  private async addrOf (node: SimNode | undefined): Promise<string | undefined> {
    if (node == null) return undefined
    node.addr ??= (await node.client.id()).addrs[0]
    return node.addr
  }

  private async spawn (index: number): Promise<DaemonProcess> {
    const repo = join(this.init.dir, `n${index}`)
    const boot = await this.bootstrap()
    const where = this.init.netns != null
      ? { defaults: false, wrapper: await this.init.netns.addHost(index), args: ['--profile', 'lan', '--listen', `/ip4/${hostAddress(index)}/tcp/4001`] }
      : { defaults: true, wrapper: undefined, args: [] }
    const args = [...where.args, '--log-level', this.init.logLevel ?? 'warn', ...(this.init.args ?? []), ...boot.flatMap(addr => ['--bootstrap', addr])]
    const logFile = this.init.logDir != null ? join(this.init.logDir, `n${index}.log`) : undefined
    return DaemonProcess.start(repo, args, { timeoutMs: this.init.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, env: this.init.debug != null ? { DEBUG: this.init.debug } : {}, nodeArgs: this.init.nodeArgs?.(index), defaults: where.defaults, wrapper: where.wrapper, logFile })
  }

  private follow (node: SimNode): void {
    node.stream = new AbortController()
    node.client.followEvents(e => { node.events.push({ ...e, at: Date.parse(e.time) }) }, { signal: node.stream.signal })
      .catch(() => { /* the stream ends when the node dies */ })
  }

  async addNode (): Promise<SimNode> {
    if (this.stopped) throw new Error('the network was stopped')
    // reserved before any await: several nodes start concurrently
    const index = this.nextIndex++
    const repo = join(this.init.dir, `n${index}`)
    if (this.init.config != null) await initRepo(repo, this.init.config)
    const spawnedAt = Date.now()
    const daemon = await this.spawn(index)
    const client = new ApiClient({ socketPath: repoPaths(repo).apiSocket, repo, timeoutMs: this.init.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS })
    const { peerId, addrs } = await client.id()
    const node: SimNode = { index, daemon, client, peerId, addr: addrs[0], events: [], killed: false, lives: [{ from: spawnedAt }], stream: new AbortController() }
    this.follow(node)
    this.nodes.push(node)
    this.nodes.sort((a, b) => a.index - b.index)
    return node
  }

  /**
   * Start a killed node again on its repo (same peer id, same address in a
   * namespace); its events keep accumulating in the same list.
   */
  async restart (node: SimNode): Promise<void> {
    if (!node.killed) throw new Error(`node ${node.index} is running`)
    if (this.stopped) throw new Error('the network was stopped')
    const spawnedAt = Date.now()
    node.daemon = await this.spawn(node.index)
    // on loopback a restarted daemon listens on a new port
    node.addr = undefined
    node.killed = false
    node.lives.push({ from: spawnedAt })
    this.follow(node)
  }

  /**
   * A daemon on its own (no bootstrap, in no mesh), same flags and config:
   * the same-run baseline for per-daemon idle cost. Not in `nodes`; stopped
   * with the network.
   */
  async addLoneDaemon (): Promise<DaemonProcess> {
    const repo = join(this.init.dir, `lone${this.extra.length}`)
    if (this.init.config != null) await initRepo(repo, this.init.config)
    const daemon = await DaemonProcess.start(repo, ['--log-level', 'warn', ...(this.init.args ?? [])], { timeoutMs: this.init.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS })
    this.extra.push(daemon)
    return daemon
  }

  private readonly extra: DaemonProcess[] = []

  live (): SimNode[] {
    return this.nodes.filter(n => !n.killed)
  }

  /** First event of `type` about `peerId` that `observer` reported at or after `since`. */
  eventAt (observer: SimNode, peerId: string, type: MemberEventType, since = 0): number | undefined {
    return observer.events.find(e => e.peerId === peerId && e.type === type && e.at >= since)?.at
  }

  countEvents (peerId: string, type: MemberEventType, since = 0): number {
    let c = 0
    for (const n of this.nodes) c += n.events.filter(e => e.peerId === peerId && e.type === type && e.at >= since).length
    return c
  }

  async kill (node: SimNode): Promise<number> {
    const at = Date.now()
    node.killed = true
    const life = node.lives[node.lives.length - 1]
    if (life != null) life.to = at
    node.stream.abort()
    await node.daemon.kill('SIGKILL')
    return at
  }

  private stopped = false

  async stop (): Promise<void> {
    this.stopped = true
    for (const n of this.nodes) n.stream.abort()
    await Promise.all(this.live().map(async n => {
      try {
        await n.daemon.kill('SIGTERM', 10_000)
      } catch {
        // a daemon that does not stop in time is killed below
      }
    }))
    await Promise.all(this.extra.map(async d => d.kill('SIGTERM', 10_000).catch(() => {})))
    await killAll([...this.nodes.map(n => n.daemon), ...this.extra])
  }
}

