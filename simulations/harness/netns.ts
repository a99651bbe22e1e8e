import { execFile } from 'node:child_process'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Why a run cannot use network namespaces here, or undefined when it can. */
export async function netnsUnavailable (): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run the simulation as root'
  try {
    await run('ip', ['-V'])
  } catch {
    return 'the ip command (iproute2) is not installed'
  }
  const probe = `nsimprobe${process.pid}`
  try {
    await run('ip', ['netns', 'add', probe])
    await run('ip', ['netns', 'del', probe])
  } catch (err: any) {
    return `ip netns add failed: ${String(err.stderr ?? err.message).trim()}`
  }
  return undefined
}

/** Addresses come from 198.18.0.0/15, the range RFC 2544 sets aside for benchmarks (docs/design.md). */
export function hostAddress (index: number): string {
  return `198.18.${1 + Math.floor(index / 200)}.${1 + (index % 200)}`
}

/**
 * One network namespace per daemon, each with a veth whose other end is a
 * port of a bridge in a namespace of its own (docs/design.md), so every
 * daemon has its own address and partitions are real:
 *
 * - `isolate(i)`: the node's bridge port goes down (nothing in or out);
 * - `islands(b)`: the ports of `b` move to a second bridge (two L2 segments
 *   with nothing between them);
 * - `cutPair(a, b)`: each of the two gets a blackhole route to the other, so
 *   they cannot reach each other but both reach the rest.
 *
 * Every namespace is named `nsim<pid>-...` and deleted by `teardown()`;
 * `removeStale()` deletes those left by a run whose process is gone.
 */
export class NetnsLab {
  private readonly tag = `nsim${process.pid}`
  private readonly hosts = new Set<number>()
  private readonly cut = new Set<string>()
  private ready = false

  private get bridgeNs (): string { return `${this.tag}-br` }
  ns (index: number): string { return `${this.tag}-${index}` }
  private port (index: number): string { return `h${index}` }

  /**
   * The kernel's ARP table is one table for every namespace, and its hard
   * limit (`gc_thresh3`, 1024 by default) counts entries across all of
   * them: 50 daemons, each talking to ~35 others, overflowed it ("neighbour:
   * arp_cache: neighbor table overflow!"), and from the 36th daemon on
   * nobody answered their ARP requests, so they never reached the bootstrap
   * daemon. The limits are raised for the run (to at least `hosts`^2) and
   * put back by `teardown()`.
   */
  private readonly arpLimits = new Map<string, string>()

  private async raiseArpLimits (hosts: number): Promise<void> {
    const want = Math.max(4096, hosts * hosts)
    const limits: Array<[string, number]> = [['gc_thresh1', want / 4], ['gc_thresh2', want / 2], ['gc_thresh3', want]]
    for (const [name, value] of limits) {
      const path = `/proc/sys/net/ipv4/neigh/default/${name}`
      try {
        const before = (await readFile(path, 'utf8')).trim()
        if (Number(before) >= value) continue
        if (!this.arpLimits.has(path)) this.arpLimits.set(path, before)
        await writeFile(path, String(Math.round(value)))
      } catch {
        // not writable here (a container): large runs may then lose ARP entries, as above
      }
    }
  }

  async setup (hosts = 64): Promise<void> {
    await removeStale()
    await this.raiseArpLimits(hosts)
    await run('ip', ['netns', 'add', this.bridgeNs])
    this.ready = true
    await this.batch(this.bridgeNs, [
      'link add br0 type bridge',
      'link add br1 type bridge',
      'link set br0 up',
      'link set br1 up'
    ])
  }

  /** A namespace for daemon `index`, its address up; returns the command prefix to run in it. */
  async addHost (index: number): Promise<string[]> {
    if (!this.ready) throw new Error('NetnsLab.setup() first')
    if (!this.hosts.has(index)) {
      const ns = this.ns(index)
      await run('ip', ['netns', 'add', ns])
      this.hosts.add(index)
      await this.batch(this.bridgeNs, [
        `link add ${this.port(index)} type veth peer name eth0 netns ${ns}`,
        `link set ${this.port(index)} master br0 up`
      ])
      await this.batch(ns, [
        'link set lo up',
        `addr add ${hostAddress(index)}/15 dev eth0`,
        'link set eth0 up'
      ])
    }
    return ['ip', 'netns', 'exec', this.ns(index)]
  }

  async isolate (index: number): Promise<void> {
    await this.batch(this.bridgeNs, [`link set ${this.port(index)} down`])
  }

  async reconnect (index: number): Promise<void> {
    await this.batch(this.bridgeNs, [`link set ${this.port(index)} up`])
  }

  /** Move `indexes` to the second bridge: they reach each other, and nobody else. */
  async islands (indexes: number[]): Promise<void> {
    await this.batch(this.bridgeNs, indexes.map(i => `link set ${this.port(i)} master br1`))
  }

  /** Every port back on the first bridge. */
  async mergeIslands (indexes: number[]): Promise<void> {
    await this.batch(this.bridgeNs, indexes.map(i => `link set ${this.port(i)} master br0`))
  }

  async cutPair (a: number, b: number): Promise<void> {
    await this.batch(this.ns(a), [`route add blackhole ${hostAddress(b)}/32`])
    await this.batch(this.ns(b), [`route add blackhole ${hostAddress(a)}/32`])
    this.cut.add(`${a}:${b}`)
  }

  async healPair (a: number, b: number): Promise<void> {
    await this.batch(this.ns(a), [`route del blackhole ${hostAddress(b)}/32`])
    await this.batch(this.ns(b), [`route del blackhole ${hostAddress(a)}/32`])
    this.cut.delete(`${a}:${b}`)
  }

  async teardown (): Promise<void> {
    const all = [...[...this.hosts].map(i => this.ns(i)), ...(this.ready ? [this.bridgeNs] : [])]
    await Promise.all(all.map(async ns => run('ip', ['netns', 'del', ns]).catch(() => {})))
    this.hosts.clear()
    this.ready = false
    for (const [path, value] of this.arpLimits) await writeFile(path, value).catch(() => {})
    this.arpLimits.clear()
  }

  private async batch (ns: string, commands: string[]): Promise<void> {
    if (commands.length === 0) return
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['-n', ns, '-batch', '-'], (err, _stdout, stderr) => {
        if (err != null) reject(new Error(`ip -n ${ns} failed: ${stderr.trim() || err.message}\n${commands.join('\n')}`))
        else resolve()
      })
      child.stdin?.end(commands.join('\n') + '\n')
    })
  }
}

/** Delete `nsim<pid>-*` namespaces whose run (pid) is gone: a killed run cannot clean up after itself. */
export async function removeStale (): Promise<void> {
  let names: string[]
  try {
    names = await readdir('/run/netns')
  } catch {
    return
  }
  for (const name of names) {
    const m = /^nsim(\d+)-/.exec(name)
    if (m == null || Number(m[1]) === process.pid) continue
    const alive = await readdir(`/proc/${m[1]}`).then(() => true, () => false)
    if (!alive) await run('ip', ['netns', 'del', name]).catch(() => {})
  }
}
