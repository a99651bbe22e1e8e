import type { GossipSub } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import { ANNOUNCE_REACHED_MS, MAX_ADVERT_ADDRS, MAX_SERVICES } from './constants.js'
import type { MembershipContext } from './context.js'
import { signAdvert, type SignedAdvert } from './relay.js'
import type { ResourceSampler } from './resources.js'
import { encodeMessage, type Advert, type Resources, type TopicMessage } from './wire.js'

export interface AdvertiserComponents {
  pubsub: GossipSub
  addressManager: AddressManager
  privateKey: PrivateKey
}

export interface AdvertiserInit {
  /** the membership topic */
  topic: string
  /** software version put in adverts */
  version: string
  sampler: ResourceSampler
  context: Pick<MembershipContext, 'self' | 'timing' | 'table' | 'health' | 'counters' | 'log' | 'leaving'>
  incarnation: () => number
  labels: () => Record<string, string>
  /** the first graft into the topic's mesh: members that started alongside this one advertised before it could hear them */
  onFirstGraft: () => void
}

/**
 * What this node says about itself: its signed advert (status, incarnation,
 * addresses, resources, labels, the services it hosts), published on the
 * membership topic every advertIntervalMs, which grows with the mesh so each
 * receiver gets at most maxAdvertRate adverts a second (see presets.ts), and
 * at once when something in it changes. Also the one way membership
 * publishes on its topic (claims and relays too).
 */
export class Advertiser {
  private readonly components: AdvertiserComponents
  private readonly init: AdvertiserInit
  private readonly ctx: AdvertiserInit['context']
  private running = false
  private seq = 0
  private timer?: ReturnType<typeof setTimeout>
  private publishing = false
  private services: string[] = []
  private resources?: Resources
  private last?: { bytes: Uint8Array, signed?: Promise<SignedAdvert> }
  /** resolves once the first advert of this run is built (or advertising stops) */
  private ready: Promise<void> = Promise.resolve()
  private readyResolve?: () => void
  /** when the last advert left for at least one topic peer */
  private lastReachedAt = 0
  private announced = false
  private grafted = false

  /**
   * A new node's first advert goes out before it has topic peers; send one
   * more as soon as the first subscriber shows up (not on every subscription
   * change: that cost about one advert a second per node in a 20-node mesh).
   * At once, not through the advert timer: every other member learns of the
   * newcomer from this advert, and on a busy host a short timer fires late.
   */
  readonly onSubscriptionChange = (): void => {
    if (this.announced || this.components.pubsub.getSubscribers(this.init.topic).length === 0) return
    this.announced = true
    void this.advertNow()
  }

  /**
   * That advert can still be lost: the subscriber is known before gossipsub
   * has a stream to it. The first graft into the topic's mesh is the moment
   * a publish surely reaches the mesh, so advertise again then (unless the
   * advert just sent reached someone); otherwise the others would learn of a
   * newcomer only at its next periodic advert, N / maxAdvertRate seconds away.
   */
  readonly onGraft = (evt: CustomEvent<{ topic: string }>): void => {
    if (this.grafted || evt.detail.topic !== this.init.topic) return
    this.grafted = true
    if (Date.now() - this.lastReachedAt > ANNOUNCE_REACHED_MS) void this.advertNow()
    this.init.onFirstGraft()
  }

  constructor (components: AdvertiserComponents, init: AdvertiserInit) {
    this.components = components
    this.init = init
    this.ctx = init.context
  }

  start (): void {
    if (this.running) return
    this.ready = new Promise(resolve => { this.readyResolve = resolve })
    this.running = true
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.readyResolve?.()
    clearTimeout(this.timer)
  }

  /** The seq the next advert will carry. */
  get nextSeq (): number {
    return this.seq + 1
  }

  /** The latest sampled resources, if an advert was built yet. */
  get currentResources (): Resources | undefined {
    return this.resources
  }

  get hostedServices (): string[] {
    return this.services
  }

  /** This node's addresses as its adverts carry them. */
  ownAddrs (): string[] {
    return this.components.addressManager.getAddresses().slice(0, MAX_ADVERT_ADDRS).map(a => a.toString())
  }

  /**
   * The services this node hosts, announced in its adverts; a change is
   * advertised at once. Adverts carry the first MAX_SERVICES names given
   * (sorted); the rest are found through placement and the DHT.
   */
  setServices (names: string[]): void {
    const next = [...new Set(names)].slice(0, MAX_SERVICES).sort()
    if (next.length === this.services.length && next.every((n, i) => n === this.services[i])) return
    this.services = next
    this.request()
  }

  /** Worker slots taken: advertised with the next advert, and at once when it changes. */
  setSlotsUsed (n: number): void {
    if (this.init.sampler.slotsUsed === n) return
    this.init.sampler.slotsUsed = n
    if (this.resources != null) this.resources = { ...this.resources, slotsUsed: n }
    this.request()
  }

  /** The advert interval for the current mesh size (see TimingPreset.maxAdvertRate). */
  intervalMs (): number {
    const n = this.ctx.table.liveCount()
    return Math.max(this.ctx.timing.advertIntervalMs, Math.ceil((n / this.ctx.timing.maxAdvertRate) * 1000))
  }

  /** Silence that triggers a probe: never shorter than 2.5 advert intervals. */
  missAfterMs (): number {
    return Math.max(this.ctx.timing.missAfterMs, Math.round(this.intervalMs() * 2.5))
  }

  /** Every connection is gone: announce again on the way back in (see onGraft). */
  isolated (): void {
    this.announced = false
    this.grafted = false
  }

  /**
   * Advert scheduling: one chain of timers whose period follows the mesh size
   * (a repeating task's interval cannot be changed from inside its own run
   * without starting a second chain). A request publishes within 50 ms.
   */
  request (delayMs = 50): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.advertNow() }, delayMs)
  }

  async advertNow (): Promise<void> {
    if (!this.running) return
    if (this.publishing) {
      this.request()
      return
    }
    this.publishing = true
    try {
      await this.publishAdvert()
    } finally {
      this.publishing = false
      if (this.running) this.request(this.intervalMs())
    }
  }

  async publishAdvert (status: Advert['status'] = this.ctx.leaving() ? 'left' : 'alive'): Promise<void> {
    if (!this.running) return
    this.resources = await this.init.sampler.sample()
    this.ctx.health.observeLag(this.resources.loopLagMs)
    const advert: Advert = {
      v: 1,
      type: 'advert',
      peerId: this.ctx.self,
      seq: ++this.seq,
      incarnation: this.init.incarnation(),
      status,
      addrs: this.ownAddrs(),
      resources: this.resources,
      labels: this.init.labels(),
      services: this.services,
      version: this.init.version
    }
    const data = encodeMessage(advert)
    this.last = { bytes: data }
    this.readyResolve?.()
    if (await this.publishBytes(data) > 0) this.lastReachedAt = Date.now()
    this.ctx.counters.advertsSent++
  }

  /** True once this run has built an advert. */
  get hasAdvert (): boolean {
    return this.last != null
  }

  /** This node's latest advert, signed for a push (signed once per advert). */
  async signedSelf (): Promise<SignedAdvert | undefined> {
    // a pull on the first connection may start before the first advert is built
    if (this.last == null) await this.ready
    const last = this.last
    if (last == null) return undefined
    last.signed ??= signAdvert(this.components.privateKey, last.bytes)
    return last.signed.catch(() => undefined)
  }

  /** Publish on the membership topic; resolves with the number of topic peers it was sent to. */
  async publish (msg: TopicMessage): Promise<number> {
    return this.publishBytes(encodeMessage(msg))
  }

  private async publishBytes (data: Uint8Array): Promise<number> {
    this.ctx.counters.bytesSent += data.length
    try {
      return (await this.components.pubsub.publish(this.init.topic, data)).recipients.length
    } catch (err: any) {
      this.ctx.log.trace('publish failed: %e', err)
      return 0
    }
  }
}
