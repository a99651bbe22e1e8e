import { loadavg } from 'node:os'
import { cpuSeconds, rssBytes } from './proc-cpu.js'
import type { Network } from './network.js'
import { distribution, type Distribution, largest } from './stats.js'

export interface ResourcePoint {
  /** ms since the sampler started */
  t: number
  live: number
  cpuPercentMean: number
  cpuPercentMax: number
  rssMBMean: number
  rssMBMax: number
  /** the machine's 1-minute load average */
  load1: number
}

export interface ResourceSummary {
  sampleMs: number
  /** per node: mean CPU over the time it was sampled, % of one core */
  cpuPercentOfCore: Distribution
  /** per node: the largest RSS seen, MB */
  rssMB: Distribution
  /** per node summed: the whole network's CPU, % of one core (200 = both cores of a 2-core host) */
  networkCpuPercentMean: number
  load1Max: number
  series: ResourcePoint[]
}

const round1 = (v: number): number => Math.round(v * 10) / 10

/**
 * Samples every live daemon's CPU and RSS from /proc every `sampleMs` while a
 * scenario runs (no request to the daemons, so it costs them nothing).
 */
export class ResourceSampler {
  private readonly net: Network
  private readonly sampleMs: number
  private readonly t0 = Date.now()
  private timer?: NodeJS.Timeout
  private readonly last = new Map<number, { cpu: number, at: number }>()
  private readonly perNode = new Map<number, { cpuSecs: number, secs: number, rssMax: number }>()
  private readonly series: ResourcePoint[] = []
  private sampling?: Promise<void>

  constructor (net: Network, sampleMs = 5_000) {
    this.net = net
    this.sampleMs = sampleMs
  }

  start (): void {
    const tick = (): void => {
      this.sampling = this.sample().catch(() => {})
      this.timer = setTimeout(tick, this.sampleMs)
      this.timer.unref()
    }
    tick()
  }

  async stop (): Promise<ResourceSummary> {
    clearTimeout(this.timer)
    await this.sampling
    await this.sample().catch(() => {})
    const cpu = [...this.perNode.values()].filter(v => v.secs > 0).map(v => round1((v.cpuSecs / v.secs) * 100))
    const rss = [...this.perNode.values()].filter(v => Number.isFinite(v.rssMax)).map(v => Math.round(v.rssMax / 1e6))
    const withCpu = this.series.filter(p => p.live > 0 && Number.isFinite(p.cpuPercentMean))
    return {
      sampleMs: this.sampleMs,
      cpuPercentOfCore: distribution(cpu),
      rssMB: distribution(rss),
      networkCpuPercentMean: withCpu.length === 0 ? NaN : round1(withCpu.reduce((s, p) => s + p.cpuPercentMean * p.live, 0) / withCpu.length),
      load1Max: round1(largest(this.series.map(p => p.load1), 0)),
      series: this.series
    }
  }

  private async sample (): Promise<void> {
    const now = Date.now()
    const cpus: number[] = []
    const rsss: number[] = []
    const live = this.net.live()
    await Promise.all(live.map(async n => {
      const pid = n.daemon.proc.pid
      if (pid == null) return
      let cpu: number, rss: number
      try {
        [cpu, rss] = await Promise.all([cpuSeconds(pid), rssBytes(pid)])
      } catch {
        return // exited between the listing and the read
      }
      // a restarted node has a new pid: key by node and process
      const key = n.index * 1e7 + pid
      const prev = this.last.get(key)
      this.last.set(key, { cpu, at: now })
      const acc = this.perNode.get(n.index) ?? { cpuSecs: 0, secs: 0, rssMax: 0 }
      acc.rssMax = Math.max(acc.rssMax, rss)
      if (prev != null && now > prev.at) {
        acc.cpuSecs += cpu - prev.cpu
        acc.secs += (now - prev.at) / 1000
        cpus.push(((cpu - prev.cpu) / ((now - prev.at) / 1000)) * 100)
      }
      this.perNode.set(n.index, acc)
      rsss.push(rss / 1e6)
    }))
    const mean = (v: number[]): number => v.length === 0 ? NaN : round1(v.reduce((a, b) => a + b, 0) / v.length)
    const max = (v: number[]): number => v.length === 0 ? NaN : round1(largest(v))
    this.series.push({
      t: now - this.t0,
      live: live.length,
      cpuPercentMean: mean(cpus),
      cpuPercentMax: max(cpus),
      rssMBMean: mean(rsss),
      rssMBMax: max(rsss),
      load1: round1(loadavg()[0] ?? 0)
    })
  }
}
