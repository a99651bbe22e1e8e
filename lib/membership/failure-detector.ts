import { availableParallelism, loadavg } from 'node:os'
import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { timeoutSignal } from '../signals.js'
import type { AddressBook } from './address-book.js'
import type { Advertiser } from './advertiser.js'
import { CONNECT_BUDGET_FACTOR, IDLE_TICK_MS, JOIN_GRACE_MS } from './constants.js'
import type { MembershipContext } from './context.js'
import type { Member } from './member-table.js'
import { isRefusal, type Prober } from './probe.js'
import { ringNeighbours } from './ring.js'
import { suspicionTimeoutWith } from './suspicion.js'
import { Ticker } from './ticker.js'
import type { Topology } from './topology.js'

export interface FailureDetectorComponents {
  connectionManager: ConnectionManager
}

export interface FailureDetectorInit {
  context: Pick<MembershipContext, 'self' | 'timing' | 'table' | 'health' | 'counters' | 'log' | 'emit' | 'signal' | 'leaving'>
  prober: Pick<Prober, 'prepare' | 'ping' | 'pingReq'>
  topology: Pick<Topology, 'update' | 'monitors'>
  advertiser: Pick<Advertiser, 'publish' | 'missAfterMs'>
  addresses: Pick<AddressBook, 'forget'>
}

/**
 * SWIM's failure detector (Das, Gupta and Motivala, "SWIM: Scalable
 * Weakly-consistent Infection-style Process Group Membership Protocol",
 * 2002) with Lifeguard's refinements (Dadgar et al., 2018): each period a
 * member probes one of its ring successors directly; a missed ack leads to
 * indirect probes through k others; then a suspicion, gossiped to all, whose
 * timeout falls as independent members confirm it; an unrefuted suspicion
 * becomes a failure, told to the others. Local health stretches every
 * timeout while this node itself is slow, so a starved node does not accuse
 * live members.
 */
export class FailureDetector {
  private readonly components: FailureDetectorComponents
  private readonly init: FailureDetectorInit
  private readonly ctx: FailureDetectorInit['context']
  private readonly probing = new Set<string>()
  private readonly judging = new Set<string>()
  private probeOrder: string[] = []
  private task?: RepeatingTask
  /**
   * Timers (silence, suspicions, reaping): every tickMs while a suspicion is
   * pending, else as seldom as silence needs (a quarter of missAfterMs, at
   * most IDLE_TICK_MS); a new suspicion hurries it.
   */
  private readonly ticker: Ticker

  constructor (components: FailureDetectorComponents, init: FailureDetectorInit) {
    this.components = components
    this.init = init
    this.ctx = init.context
    this.ticker = new Ticker({
      fn: () => { this.tick() },
      fastMs: this.ctx.timing.tickMs,
      idleMs: () => Math.min(IDLE_TICK_MS, Math.floor(this.init.advertiser.missAfterMs() / 4)),
      busy: () => this.ctx.table.hasSuspects(),
      onError: (err) => { this.ctx.log.error('membership tick failed: %e', err) }
    })
  }

  start (): void {
    if (this.task != null) return
    this.task = repeatingTask(() => { this.probeNext() }, this.ctx.timing.probeIntervalMs)
    this.task.start()
    this.ticker.start()
  }

  stop (): void {
    this.task?.stop()
    this.task = undefined
    this.ticker.stop()
  }

  /** A suspicion began: its timeout is checked every tickMs, not at the idle pace. */
  hurry (): void {
    this.ticker.hurry()
  }

  /**
   * A lost connection to a member this node monitors is checked at once
   * instead of waiting for the next probe. Other lost connections are not:
   * members close idle connections outside their view (topology.ts), and
   * the monitors of a member that really died will tell everyone.
   */
  connectionLost (peer: PeerId): void {
    const { table } = this.ctx
    const member = table.get(peer.toString())
    if (member == null || !this.init.topology.update(table.all()).successors.includes(member.peerId)) return
    if (member.status === 'alive' && !this.probing.has(member.peerId) && !this.ctx.leaving()) {
      void this.probe(member)
    }
  }

  /**
   * The probe round: one member per period, taken from this node's ring
   * successors (see ring.ts) in shuffled order, walked to the end before the
   * ring is recomputed. Each member has `monitors` predecessors probing it,
   * so it is probed about once per period, as in SWIM, but only by the same
   * few members over connections they keep, not by every member in turn.
   */
  private probeNext (): void {
    // the host's run queue, once per period: cheap (one read of /proc/loadavg), and a
    // 1-minute average moves slowly enough for that
    this.ctx.health.observeLoad((loadavg()[0] ?? 0) / availableParallelism())
    while (true) {
      const next = this.probeOrder.pop()
      if (next == null) break
      const member = this.ctx.table.get(next)
      if (member?.status === 'alive') {
        if (!this.probing.has(next)) void this.probe(member)
        return
      }
    }
    this.probeOrder = this.init.topology.update(this.ctx.table.all()).successors.sort(() => Math.random() - 0.5)
  }

  private async probe (member: Member): Promise<void> {
    const signal = this.ctx.signal()
    if (signal == null || signal.aborted) return
    const { table, health, timing, counters } = this.ctx
    const { prober } = this.init
    this.probing.add(member.peerId)
    const m = health.multiplier
    const target = peerIdFromString(member.peerId)
    let refused = false
    try {
      counters.probes++
      try {
        // connecting is bounded separately: a refused dial (a dead process) fails at once,
        // a slow handshake on a busy host is not a missed ack
        await prober.prepare(target, { signal: AbortSignal.any([signal, timeoutSignal(timing.probeTimeoutMs * CONNECT_BUDGET_FACTOR * m)]) })
        const { rttMs } = await prober.ping(target, { signal: AbortSignal.any([signal, timeoutSignal(timing.probeTimeoutMs * m)]) })
        health.probeSucceeded()
        table.markHeard(member.peerId, Date.now(), rttMs)
        return
      } catch (err) {
        if (signal.aborted) return
        refused = isRefusal(err)
        this.ctx.log.trace('direct probe of %s failed: %e', member.peerId, err)
      }
      counters.probesFailed++
      // indirect probes guard against a bad path between this node and the member;
      // a refusal is no path problem but the member's host answering that nothing
      // listens there, so suspect at once rather than wait out the indirect window
      if (!refused) {
        const indirect = await this.indirectProbe(member, target, m, signal)
        // a helper's refused dial is the same evidence as our own (the process is gone)
        if (indirect === 'refused') refused = true
        if (indirect === 'ack') {
          health.missedAck()
          table.markHeard(member.peerId, Date.now())
          return
        }
      }
      if (signal.aborted) return
      const current = table.get(member.peerId)
      if (current?.status !== 'alive' || current.incarnation !== member.incarnation) return
      // just joined or recovered: likely still starting up (a busy event loop), not dead;
      // on a stressed host (local health) starting takes longer, so the grace stretches
      // like every other timeout; a refused dial is different: nothing listens there any more
      const grace = JOIN_GRACE_MS * m
      if (!refused && Date.now() - current.statusSince < grace) {
        this.ctx.log('not suspecting %s: alive for less than %d ms', member.peerId, grace)
        return
      }
      const event = table.suspect(member.peerId, this.ctx.self, current.incarnation, Date.now())
      if (refused) table.markRefused(member.peerId)
      if (event != null) {
        this.ctx.emit({ ...event, by: this.ctx.self, reason: refused ? 'refused' : 'no-ack' })
        counters.claimsSent++
        await this.init.advertiser.publish({ v: 1, type: 'suspect', target: member.peerId, incarnation: current.incarnation, ...(refused ? { refused: true as const } : {}) })
      }
    } finally {
      this.probing.delete(member.peerId)
    }
  }

  private async indirectProbe (member: Member, target: PeerId, multiplier: number, signal: AbortSignal): Promise<'ack' | 'refused' | 'fail'> {
    const { table, timing, counters, health } = this.ctx
    // the target's other monitors first (they hold connections to it, so their probe
    // costs no handshake), then members we hold connections to, then anyone
    const live = table.all().filter(h => h.status === 'alive' || h.status === 'suspect').map(h => h.peerId)
    const monitors = ringNeighbours(member.peerId, [...live, this.ctx.self], this.init.topology.monitors).predecessors
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const rank = (h: Member): number => monitors.includes(h.peerId) ? 0 : connected.has(h.peerId) ? 1 : 2
    const helpers = table.all()
      .filter(h => h.status === 'alive' && h.peerId !== member.peerId)
      .sort(() => Math.random() - 0.5)
      .sort((a, b) => rank(a) - rank(b))
      .slice(0, timing.indirectProbes)
    if (helpers.length === 0) return 'fail'
    const timeoutMs = Math.round(timing.indirectTimeoutMs * multiplier)
    // the helper gets most of the window to probe; we wait for the whole window
    const inner = Math.max(50, Math.round(timeoutMs * 0.8))
    const wait = AbortSignal.any([signal, timeoutSignal(timeoutMs)])
    counters.indirectProbes += helpers.length
    let silent = 0
    let refusals = 0
    const attempts = helpers.map(async h => {
      let answer: 'ack' | 'nack' | 'refused'
      try {
        answer = await this.init.prober.pingReq(peerIdFromString(h.peerId), target, member.addrs, inner, { signal: wait })
      } catch (err) {
        // still waiting when the window closed (a refused or denied dial fails at once)
        if (wait.aborted) silent++
        throw err
      }
      if (answer === 'refused') refusals++
      if (answer !== 'ack') throw new Error(answer)
      return 'ack' as const
    })
    try {
      return await Promise.any(attempts)
    } catch {
      // Lifeguard: helpers that cannot reach the target still answer in time, with
      // a nack; when some stayed silent, the slow one is probably this node, so it
      // should judge more slowly
      if (silent > 0 && !signal.aborted) {
        counters.missedNacks++
        health.missedNack()
      }
      return refusals > 0 ? 'refused' : 'fail'
    }
  }

  private tick (): void {
    const { table, timing, health } = this.ctx
    const now = Date.now()
    const m = health.multiplier
    // once per tick, not per member: both walk the whole table
    const silentAfter = this.init.advertiser.missAfterMs() * m
    for (const member of table.all()) {
      if (member.status !== 'alive' || this.probing.has(member.peerId)) continue
      if (now - member.lastHeardAt > silentAfter) {
        void this.probe(member)
      }
    }
    const n = table.liveCount()
    // the first suspecter started the suspicion; the others confirm it. A refused dial
    // (nothing listens where the member was) is more than every confirmation: the
    // timeout then only leaves room for a refutation, and is the flat minimum, not
    // grown with log N (that growth is for gossip reaching more members, and a
    // process that is gone refutes nothing; a member alive at another address does,
    // or comes back as recovered)
    for (const member of table.expiring(now, (member) => member.suspicion?.refused === true
      ? timing.suspicionMinMs
      : suspicionTimeoutWith(timing, n, Math.max(0, (member.suspicion?.confirmers.size ?? 1) - 1), m))) {
      void this.judge(member)
    }
    for (const gone of table.reap(now, timing.reapAfterMs)) {
      this.ctx.log('reaped member %s', gone)
      this.init.addresses.forget(gone)
    }
  }

  /**
   * A suspicion ran out unrefuted. Unless this node's own dial was refused
   * (nothing listens there), it tries the member once more, directly, within
   * two probe timeouts: a member whose refutation did not reach this node
   * (its gossip starved on a busy host) answers and stays alive here. Then
   * the verdict, told to the others so their timers do not set the slowest
   * observer's pace (memberlist's dead message).
   */
  private async judge (member: Member): Promise<void> {
    const signal = this.ctx.signal()
    if (signal == null || signal.aborted || this.judging.has(member.peerId)) return
    const { table, timing, health, counters } = this.ctx
    this.judging.add(member.peerId)
    try {
      const incarnation = member.incarnation
      if (member.suspicion?.refused !== true) {
        const m = health.multiplier
        try {
          const target = peerIdFromString(member.peerId)
          const budget = AbortSignal.any([signal, timeoutSignal(timing.probeTimeoutMs * 2 * m)])
          await this.init.prober.prepare(target, { signal: budget })
          const { rttMs } = await this.init.prober.ping(target, { signal: budget })
          table.markHeard(member.peerId, Date.now(), rttMs)
          const event = table.clearSuspicion(member.peerId, incarnation, Date.now())
          if (event != null) {
            counters.lastChanceAlive++
            this.ctx.emit(event)
          }
          return
        } catch {
          if (signal.aborted) return
        }
      }
      // refuted or heard from meanwhile: no verdict
      const current = table.get(member.peerId)
      if (current?.status !== 'suspect' || current.incarnation !== incarnation) return
      const event = table.fail(member.peerId, incarnation, Date.now())
      if (event == null) return
      this.ctx.emit({ ...event, by: this.ctx.self, reason: 'timeout' })
      counters.claimsSent++
      await this.init.advertiser.publish({ v: 1, type: 'failed', target: event.peerId, incarnation: event.incarnation })
    } finally {
      this.judging.delete(member.peerId)
    }
  }
}
