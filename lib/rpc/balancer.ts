import { EJECT_AFTER_FAILURES, EJECT_FOR_MS, NOT_READY_COOLDOWN_MS } from './constants.js'

interface Health {
  failures: number
  ejectedUntil: number
}

export interface Candidate {
  peerId: string
  healthy: boolean
  /** the instance's member as this node sees it; a suspect one is a last resort */
  memberStatus?: string
}

/**
 * Instance selection for one client: power of two choices on outstanding
 * calls (two random candidates, the one with fewer calls in flight wins;
 * Mitzenmacher's result: nearly the balance of least-outstanding over all
 * without scanning or herding), among healthy instances that are not
 * ejected. An instance is ejected after EJECT_AFTER_FAILURES consecutive
 * failures for EJECT_FOR_MS (Envoy's outlier detection, simplified), then
 * re-admitted; one success clears its count.
 */
export class Balancer {
  private readonly outstanding = new Map<string, number>()
  private readonly health = new Map<string, Health>()
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
      const picked = this.pickHealthy(instances)
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
    return this.load(b.peerId) < this.load(a.peerId) ? b.peerId : a.peerId
  }

  /** pick() when nothing is tried or ejected: two distinct healthy candidates, uniformly, the less loaded wins; undefined when none is healthy. */
  private pickHealthy (instances: Candidate[]): string | undefined {
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
    return this.load(b!.peerId) < this.load(a!.peerId) ? b!.peerId : a!.peerId
  }

  load (peerId: string): number {
    return this.outstanding.get(peerId) ?? 0
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
