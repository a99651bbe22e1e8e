import { join } from 'node:path'
import { ApiClient } from '../../lib/client/index.js'
import type { MemberEventType, MemberEventView } from '../../lib/interface/api.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { initRepo } from '../../lib/repo/init.js'
import type { ConfigInput } from '../../lib/repo/config.js'
import { DaemonProcess, killAll } from './daemon-process.js'

export interface SimNode {
  index: number
  daemon: DaemonProcess
  client: ApiClient
  peerId: string
  /** member events as this node reported them, with the time parsed (epoch ms) */
  events: Array<MemberEventView & { at: number }>
  killed: boolean
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
}

/**
 * N real `noodled start` processes on 127.0.0.1 (profile `local`, own repos,
 * ephemeral ports), all bootstrapped from the first. Each node's member
 * event stream is followed from the moment it is ready, so scenario timings
 * come from the daemons' own event times, not from polling.
 */
export class Network {
  readonly nodes: SimNode[] = []
  private readonly init: NetworkInit
  private bootstrapAddr?: string
  private nextIndex = 0

  constructor (init: NetworkInit) {
    this.init = init
  }

  async start (n: number): Promise<void> {
    const first = await this.addNode()
    this.bootstrapAddr = (await first.client.id()).addrs[0]
    this.init.onProgress?.(1, n)
    const concurrency = this.init.concurrency ?? 4
    let next = 1
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++
        await this.addNode()
        this.init.onProgress?.(this.nodes.length, n)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, n - 1) }, worker))
  }

  async addNode (): Promise<SimNode> {
    // reserved before any await: several nodes start concurrently
    const index = this.nextIndex++
    const repo = join(this.init.dir, `n${index}`)
    const args = ['--log-level', 'warn', ...(this.init.args ?? []), ...(this.bootstrapAddr != null ? ['--bootstrap', this.bootstrapAddr] : [])]
    if (this.init.config != null) await initRepo(repo, this.init.config)
    const daemon = await DaemonProcess.start(repo, args, { timeoutMs: 120_000, nodeArgs: this.init.nodeArgs?.(index) })
    const client = new ApiClient({ socketPath: repoPaths(repo).apiSocket, repo, timeoutMs: 60_000 })
    const peerId = (await client.id()).peerId
    const node: SimNode = { index, daemon, client, peerId, events: [], killed: false, stream: new AbortController() }
    client.followEvents(e => { node.events.push({ ...e, at: Date.parse(e.time) }) }, { signal: node.stream.signal })
      .catch(() => { /* the stream ends when the node dies */ })
    this.nodes.push(node)
    this.nodes.sort((a, b) => a.index - b.index)
    return node
  }

  /**
   * A daemon on its own (no bootstrap, in no mesh), same flags and config:
   * the same-run baseline for per-daemon idle cost. Not in `nodes`; stopped
   * with the network.
   */
  async addLoneDaemon (): Promise<DaemonProcess> {
    const repo = join(this.init.dir, 'lone')
    if (this.init.config != null) await initRepo(repo, this.init.config)
    const daemon = await DaemonProcess.start(repo, ['--log-level', 'warn', ...(this.init.args ?? [])], { timeoutMs: 120_000 })
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
    node.stream.abort()
    await node.daemon.kill('SIGKILL')
    return at
  }

  async stop (): Promise<void> {
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

