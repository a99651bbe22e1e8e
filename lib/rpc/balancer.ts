import { EJECT_AFTER_FAILURES, EJECT_FOR_MS, NOT_READY_COOLDOWN_MS, RTT_DECAY_MS, RTT_FLOOR_MS } from './constants.js'

interface Health {
  failures: number
  ejectedUntil: number
}

/** A peak-EWMA latency estimate: ms, as of `at` (the balancer's clock) */
interface Rtt {
  ms: number
  at: number
}

export interface Candidate {
  peerId: string
  healthy: boolean
  /** the instance's member as this node sees it; a suspect one is a last resort */
  memberStatus?: string
}

/**
 * Instance selection for one client: power of two choices (two random
 * candidates, the cheaper wins; Mitzenmacher's result: nearly the balance
 * of least-cost over all without scanning or herding), among healthy
 * instances that are not ejected. An instance's cost is its calls in flight
 * plus one, times its latency estimate for the service: a peak EWMA, as in
 * Finagle's and tower's (Linkerd's) balancers, that jumps to a slower
 * observation at once, follows faster ones over RTT_DECAY_MS, and decays
 * toward nothing while the instance is not called, so a slow instance is
 * passed over at once and tried again seconds later. Calls in flight alone
 * could not see a straggler whose calls are cut short: a hedge cancels the
 * slow call, and the straggler looks idle again; what the cancelled call
 * had already waited is its observation (a lower bound). An instance is
 * ejected after EJECT_AFTER_FAILURES consecutive failures for EJECT_FOR_MS
 * (Envoy's outlier detection, simplified), then re-admitted; one success
 * clears its count.
 */
export class Balancer {
  private readonly outstanding = new Map<string, number>()
  private readonly health = new Map<string, Health>()
  /** service -> instance -> latency estimate */
  private readonly rtt = new Map<string, Map<string, Rtt>>()
  private observed = 0
  private readonly random: () => number
  private readonly now: () => number
  ejections = 0

  constructor (opts: { random?: () => number, now?: () => number } = {}) {
    this.random = opts.random ?? Math.random
    this.now = opts.now ?? Date.now
  }

  /** Keys are per service and instance: an instance of one service failing says nothing of another. */
  private key (service: string, peerId: string): string {
    return `${service} ${peerId}`
  }

  ejected (service: string, peerId: string): boolean {
    const h = this.health.get(this.key(service, peerId))
    return h != null && h.ejectedUntil > this.now()
  }

  /**
   * Pick an instance, or undefined when none is usable. Healthy, not ejected
   * and not yet tried come first; if every instance is ejected, the healthy
   * ones are used anyway (better a call to a flaky instance than none); if
   * none is healthy, instances on suspect members (suspected is not failed:
   * on a saturated host live members are suspected and refute).
   */
  pick (service: string, instances: Candidate[], tried: ReadonlySet<string>): string | undefined {
    // the common case (nothing tried, nobody failing lately) without the arrays below: a call's
    // garbage is what young-generation collections pay for, and they set the tail latency
    if (tried.size === 0 && this.health.size === 0) {
      const picked = this.pickHealthy(service, instances)
      if (picked != null) return picked
    }
    const fresh = instances.filter(i => i.healthy && !tried.has(i.peerId))
    let pool = fresh.filter(i => !this.ejected(service, i.peerId))
    if (pool.length === 0) pool = fresh
    if (pool.length === 0) pool = instances.filter(i => i.memberStatus === 'suspect' && !tried.has(i.peerId))
    if (pool.length === 0) return undefined
    if (pool.length === 1) return pool[0]!.peerId
    // two distinct candidates, uniformly
    const i = Math.floor(this.random() * pool.length)
    let j = Math.floor(this.random() * (pool.length - 1))
    if (j >= i) j++
    const a = pool[i]!
    const b = pool[j]!
    return this.cost(service, b.peerId) < this.cost(service, a.peerId) ? b.peerId : a.peerId
  }

  /** pick() when nothing is tried or ejected: two distinct healthy candidates, uniformly, the cheaper wins; undefined when none is healthy. */
  private pickHealthy (service: string, instances: Candidate[]): string | undefined {
    let n = 0
    for (const c of instances) if (c.healthy) n++
    if (n === 0) return undefined
    const i = n === 1 ? 0 : Math.floor(this.random() * n)
    let j = n === 1 ? 0 : Math.floor(this.random() * (n - 1))
    if (n > 1 && j >= i) j++
    let a: Candidate | undefined
    let b: Candidate | undefined
    let k = 0
    for (const c of instances) {
      if (!c.healthy) continue
      if (k === i) a = c
      if (k === j) b = c
      k++
    }
    return this.cost(service, b!.peerId) < this.cost(service, a!.peerId) ? b!.peerId : a!.peerId
  }

  load (peerId: string): number {
    return this.outstanding.get(peerId) ?? 0
  }

  /** What a call to `peerId` for `service` is expected to cost now: (calls in flight + 1) x its latency estimate. */
  cost (service: string, peerId: string): number {
    return (this.load(peerId) + 1) * Math.max(RTT_FLOOR_MS, this.latency(service, peerId))
  }

  /** The latency estimate (ms) of `peerId` for `service` now: 0 when never called, or long ago. */
  latency (service: string, peerId: string): number {
    const r = this.rtt.get(service)?.get(peerId)
    if (r == null) return 0
    return r.ms * Math.exp(-(this.now() - r.at) / RTT_DECAY_MS)
  }

  /**
   * A call to `peerId` for `service` answered after `ms`; or, with
   * `atLeast`, ended without an answer after `ms` (cancelled, timed out,
   * failed): a lower bound, which only ever raises the estimate (an
   * instance that fails fast must not look fast; ejection deals with it).
   */
  observe (service: string, peerId: string, ms: number, atLeast = false): void {
    if (++this.observed % 4096 === 0) this.sweep()
    let of = this.rtt.get(service)
    if (of == null) this.rtt.set(service, of = new Map())
    const now = this.now()
    const r = of.get(peerId)
    if (atLeast && ms <= (r == null ? 0 : r.ms * Math.exp(-(now - r.at) / RTT_DECAY_MS))) return
    if (r == null) {
      of.set(peerId, { ms, at: now })
      return
    }
    const decay = Math.exp(-(now - r.at) / RTT_DECAY_MS)
    const estimate = r.ms * decay
    // the peak: a slower call is believed at once; a faster one moves the estimate by how old it is
    r.ms = ms > estimate ? ms : estimate + ms * (1 - decay)
    r.at = now
  }

  /** Drop estimates that have faded below the floor (the same as none): instances come and go, and the map must not keep them all. */
  private sweep (): void {
    const now = this.now()
    for (const [service, of] of this.rtt) {
      for (const [peerId, r] of of) if (r.ms * Math.exp(-(now - r.at) / RTT_DECAY_MS) < RTT_FLOOR_MS) of.delete(peerId)
      if (of.size === 0) this.rtt.delete(service)
    }
  }

  begin (peerId: string): void {
    this.outstanding.set(peerId, this.load(peerId) + 1)
  }

  end (peerId: string): void {
    const n = this.load(peerId) - 1
    if (n <= 0) this.outstanding.delete(peerId)
    else this.outstanding.set(peerId, n)
  }

  succeeded (service: string, peerId: string): void {
    if (this.health.size > 0) this.health.delete(this.key(service, peerId))
  }

  /** The instance is not ready yet (module loading): pass it over briefly; its failure count is untouched. */
  notReady (service: string, peerId: string): void {
    const key = this.key(service, peerId)
    const h = this.health.get(key) ?? { failures: 0, ejectedUntil: 0 }
    h.ejectedUntil = Math.max(h.ejectedUntil, this.now() + NOT_READY_COOLDOWN_MS)
    this.health.set(key, h)
  }

  failed (service: string, peerId: string): void {
    const key = this.key(service, peerId)
    const h = this.health.get(key) ?? { failures: 0, ejectedUntil: 0 }
    h.failures++
    if (h.failures >= EJECT_AFTER_FAILURES) {
      h.failures = 0
      h.ejectedUntil = this.now() + EJECT_FOR_MS
      this.ejections++
    }
    this.health.set(key, h)
  }
}
