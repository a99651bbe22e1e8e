import { setMaxListeners } from 'node:events'
import type { Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { BlockUnavailableError, TimeoutError } from '../interface/errors.js'
import { BlockStatus, decodeResponse, encodeRequest } from './block-protocol.js'
import type { BlockStream, BlockStreams } from './block-streams.js'
import { linkedChunk, verifyBlock } from './content.js'
import type { ProviderPenalties } from './penalties.js'
import { WantList } from './want-list.js'
import { BLOCK_TIMEOUT_MS, HEDGE_MS, MAX_PROVIDERS, REQUEST_WINDOW } from './constants.js'

/**
 * What became of one provider in a session: `served` (it answered everything
 * it was asked), `bad-block` (bytes that did not hash to the CID: dropped and
 * penalised), `lacks-blocks` (it had none of what was asked, or nothing left
 * that was), `unreachable`, `timeout`, `error` (its stream failed),
 * `penalised` (passed over: it served bad bytes before), `unused`.
 */
export type ProviderOutcome = 'served' | 'bad-block' | 'lacks-blocks' | 'unreachable' | 'timeout' | 'error' | 'penalised' | 'unused'

export interface ProviderReport {
  peerId: string
  blocks: number
  bytes: number
  outcome?: ProviderOutcome
  reason?: string
}

export interface BlockFetchInit {
  /** streams to providers, reused across sessions */
  streams: BlockStreams
  self: PeerId
  penalties: ProviderPenalties
  /** keep a block whose bytes have been verified */
  put: (cid: CID, bytes: Uint8Array, options: { signal: AbortSignal }) => Promise<void>
  log: Logger
  /** told of every block kept, with the provider it came from */
  onBlock?: (cid: CID, bytes: number, peer: PeerId) => void
  maxProviders?: number
  window?: number
  blockTimeoutMs?: number
  /** @default HEDGE_MS */
  hedgeMs?: number
}

/** A request sent to a provider and not answered yet. */
interface Asked {
  cid: CID
  withLink: boolean
}

/** A provider at work: whether it is opening its stream or waiting for answers, and since when it has made progress. */
interface Worker {
  waiting: () => boolean
  since: number
}

/**
 * One fetch's exchange with providers: blocks asked for with `get` are
 * spread over up to MAX_PROVIDERS providers at once, taken from `providers`
 * (an async iterable, e.g. a DHT provider walk) only while there is work
 * for another. Each provider gets its own stream and up to REQUEST_WINDOW
 * requests in flight; a block is kept only once its bytes hash to its CID.
 * A provider that sends bad bytes is dropped and penalised, one that lacks
 * what it is asked for or stops answering is dropped, and what it held goes
 * back to the others. The session fails (BlockUnavailableError, naming what
 * each provider did) when blocks are still wanted and no provider is left.
 */
export class BlockFetchSession {
  readonly reports = new Map<string, ProviderReport>()
  private readonly init: BlockFetchInit
  private readonly controller = new AbortController()
  private readonly wants = new WantList()
  private active = 0
  /** providers at work, by peer id */
  private readonly workers = new Map<string, Worker>()
  /** providers whose stream is not open yet */
  private opening = 0
  private sourceDone = false
  private closed = false
  private failure?: Error
  private wake: () => void = () => {}
  private changed: Promise<void>

  constructor (init: BlockFetchInit, signal?: AbortSignal) {
    this.init = init
    setMaxListeners(Infinity, this.controller.signal)
    this.changed = this.nextChange()
    signal?.addEventListener('abort', () => { this.fail(signal.reason instanceof Error ? signal.reason : new TimeoutError('fetch aborted')) }, { once: true, signal: this.controller.signal })
    if (signal?.aborted === true) this.fail(signal.reason)
  }

  /** Aborts with the session: pass it to the provider search. */
  get signal (): AbortSignal {
    return this.controller.signal
  }

  /** Begin taking providers from `providers` (once). */
  start (providers: AsyncIterable<PeerId>): void {
    void this.pump(providers)
  }

  /**
   * Resolves once every one of `cids` has been fetched and kept; rejects if
   * the session fails first. `withLink`: these are module roots, and a
   * provider should send a root's only chunk along with it (WITH_LINK).
   */
  async get (cids: CID[], options: { withLink?: boolean } = {}): Promise<void> {
    if (this.failure != null) throw this.failure
    const waits = this.wants.add(cids, options.withLink === true)
    this.notify()
    this.checkStalled()
    await Promise.all(waits)
  }

  /** End the session: workers finish, streams close, the provider search stops. */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.controller.abort(new Error('fetch session closed'))
    this.notify()
  }

  /** The providers asked, and what each did. */
  providerReports (): ProviderReport[] {
    return [...this.reports.values()]
  }

  /** The next change, or hedgeMs from now, whichever comes first. */
  private async changedOrHedge (): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([this.changed, new Promise(resolve => { timer = setTimeout(resolve, this.init.hedgeMs ?? HEDGE_MS) })])
    } finally {
      clearTimeout(timer)
    }
  }

  private nextChange (): Promise<void> {
    return new Promise<void>(resolve => { this.wake = resolve })
  }

  private notify (): void {
    const wake = this.wake
    this.changed = this.nextChange()
    wake()
  }

  private get over (): boolean {
    return this.closed || this.failure != null
  }

  /**
   * Whether another provider would help: none yet, or blocks waiting that
   * the providers at work have had their chance to take (none is still
   * opening its stream) and left. A walk for providers costs round trips and
   * CPU: a small module from one good provider should not start one.
   */
  private get needProvider (): boolean {
    if (this.active === 0) return true
    if (this.active >= (this.init.maxProviders ?? MAX_PROVIDERS)) return false
    if (this.opening === 0 && this.wants.hasPending) return true
    // every provider at work is slow (stream not open, or nothing answered within hedgeMs): one more beside them
    const now = Date.now()
    return [...this.workers.values()].every(w => this.slow(w, now))
  }

  private slow (w: Worker, now: number): boolean {
    return w.waiting() && now - w.since >= (this.init.hedgeMs ?? HEDGE_MS)
  }

  /** Start a provider whenever one would help, taking the next candidate only then (the next may cost a DHT walk). */
  private async pump (providers: AsyncIterable<PeerId>): Promise<void> {
    const candidates = providers[Symbol.asyncIterator]()
    try {
      while (true) {
        while (!this.over && !this.needProvider) {
          // woken by a change, or to look again whether the providers at work have become slow
          await this.changedOrHedge()
          // let the providers at work take what just changed before judging whether they need help
          await new Promise(resolve => setImmediate(resolve))
        }
        if (this.over) break
        const next = await candidates.next()
        if (next.done === true || this.over) break
        const peer = next.value
        const id = peer.toString()
        if (peer.equals(this.init.self) || this.reports.has(id)) continue
        if (this.init.penalties.isPenalised(id)) {
          this.reports.set(id, { peerId: id, blocks: 0, bytes: 0, outcome: 'penalised' })
          continue
        }
        this.active++
        void this.work(peer)
      }
    } catch (err) {
      if (!this.over) this.init.log.trace('provider search ended: %e', err)
    } finally {
      void candidates.return?.().catch(() => {})
    }
    this.sourceDone = true
    this.checkStalled()
  }

  private fail (err: Error): void {
    if (this.over) return
    this.failure = err
    this.wants.failAll(err)
    this.controller.abort(err)
    this.notify()
  }

  /** Blocks wanted, nobody working on them, and nobody left to ask. */
  private checkStalled (): void {
    if (this.over || this.wants.size === 0 || this.active > 0 || !this.sourceDone) return
    const missing = this.wants.missing()
    const asked = this.providerReports()
    const what = asked.length === 0
      ? 'no provider found'
      : `asked ${asked.length}: ${asked.map(r => `${r.peerId} ${r.outcome ?? 'unused'}${r.reason != null ? ` (${r.reason})` : ''}`).join('; ')}`
    this.fail(new BlockUnavailableError(`no peer served ${missing.length === 1 ? `block ${missing[0]}` : `${missing.length} blocks (${missing[0]}, ...)`}: ${what}`))
  }

  /** The next block for `peerId` to be asked for (see WantList.take): hedged only where every provider asked is slow. */
  private take (peerId: string): CID | undefined {
    const now = Date.now()
    return this.wants.take(peerId, (p) => { const w = this.workers.get(p); return w == null || this.slow(w, now) })
  }

  /** A block a provider did not deliver goes back to the front of the queue. */
  private release (cid: CID, peerId: string, lacks: boolean): void {
    this.wants.release(cid, peerId, lacks)
    this.notify()
  }

  /** Keep a verified block: one asked for with `get`, or a root's chunk sent along with it. */
  private async deliver (cid: CID, bytes: Uint8Array, peer: PeerId): Promise<void> {
    if (this.wants.isDelivered(cid)) return
    try {
      await this.init.put(cid, bytes, { signal: this.controller.signal })
    } catch (err) {
      this.release(cid, peer.toString(), false)
      throw err
    }
    this.init.onBlock?.(cid, bytes.byteLength, peer)
    this.wants.complete(cid)
  }

  /**
   * One provider at work: its stream opened (or taken from an earlier
   * session), up to `window` requests kept in flight, each answer verified
   * and kept, until nothing is left that it may serve, it fails, or the
   * session ends. What it was asked and did not answer goes back to the others.
   */
  private async work (peer: PeerId): Promise<void> {
    const id = peer.toString()
    const report: ProviderReport = { peerId: id, blocks: 0, bytes: 0 }
    this.reports.set(id, report)
    /** requests sent and not yet answered, in order (with a root's chunk its provider sends along) */
    const asked: Asked[] = []
    let bs: BlockStream | undefined
    let opening = true
    const worker: Worker = { waiting: () => opening || asked.length > 0, since: Date.now() }
    this.workers.set(id, worker)
    this.opening++
    try {
      try {
        bs = await this.init.streams.take(peer, this.controller.signal)
      } finally {
        this.opening--
        opening = false
        worker.since = Date.now()
        this.notify()
      }
      while (true) {
        this.request(id, bs, asked, worker)
        if (asked.length === 0) {
          if (this.over) break
          // work waits that this peer lacks: another provider must do it
          if (this.wants.hasPending) {
            report.outcome = 'lacks-blocks'
            break
          }
          // woken by a change, or to look again for blocks a slow provider sits on
          await this.changedOrHedge()
          continue
        }
        if (!await this.answer(peer, bs, asked, worker, report)) break
      }
    } catch (err: any) {
      if (this.over) {
        // the session ended while this provider worked: not the provider's doing
      } else if (bs == null) {
        report.outcome = 'unreachable'
        report.reason = err.message
      } else {
        report.outcome = err instanceof TimeoutError ? 'timeout' : 'error'
        report.reason = err.message
      }
    } finally {
      this.finish(id, bs, asked, report)
    }
  }

  /** Fill the provider's window with requests for blocks it may serve. */
  private request (id: string, bs: BlockStream, asked: Asked[], worker: Worker): void {
    const window = this.init.window ?? REQUEST_WINDOW
    while (asked.length < window) {
      const cid = this.take(id)
      if (cid == null) break
      const withLink = this.wants.wantsLink(cid)
      if (asked.length === 0) worker.since = Date.now()
      asked.push({ cid, withLink })
      this.wants.asking(cid, id, true)
      bs.stream.send(encodeRequest(cid, withLink))
    }
  }

  /** Take the provider's next answer; false when the provider is done (it lacks the content, or sent bad bytes). */
  private async answer (peer: PeerId, bs: BlockStream, asked: Asked[], worker: Worker, report: ProviderReport): Promise<boolean> {
    const id = report.peerId
    const response = decodeResponse(await this.next(bs))
    const { cid, withLink } = asked.shift()!
    this.wants.asking(cid, id, false)
    worker.since = Date.now()
    if (response.status === BlockStatus.NOT_HERE) {
      this.release(cid, id, true)
      // a peer that has served nothing here is not a provider of this content
      if (report.blocks === 0) {
        report.outcome = 'lacks-blocks'
        return false
      }
      return true
    }
    try {
      await verifyBlock(cid, response.bytes)
    } catch (err: any) {
      this.release(cid, id, false)
      const penalty = this.init.penalties.penalise(id, err.message)
      report.outcome = 'bad-block'
      report.reason = `sent bytes that do not hash to ${cid.toString()}`
      this.init.log('provider %p sent a bad block (%s); dropped and passed over for %d s', peer, cid, Math.round((penalty.until - Date.now()) / 1000))
      return false
    }
    // the provider sends a root's only chunk next (the same rule decides on both sides)
    const link = withLink ? linkedChunk(response.bytes) : undefined
    if (link != null) {
      asked.unshift({ cid: link, withLink: false })
      this.wants.asking(link, id, true)
      this.wants.comingAlong(link)
    }
    await this.deliver(cid, response.bytes, peer)
    report.blocks++
    report.bytes += response.bytes.byteLength
    return true
  }

  /** A provider stopped: what it still owed goes back, its stream is kept for the next session only if clean. */
  private finish (id: string, bs: BlockStream | undefined, asked: Asked[], report: ProviderReport): void {
    report.outcome ??= report.blocks > 0 ? 'served' : 'unused'
    this.workers.delete(id)
    for (const { cid } of asked) {
      this.wants.asking(cid, id, false)
      this.release(cid, id, false)
    }
    if (bs != null) {
      // a stream with answers still owed, or to a peer that lied, is not used again
      if (asked.length === 0 && report.outcome !== 'bad-block') this.init.streams.give(bs)
      else bs.stream.abort(new Error('block fetch ended'))
    }
    this.active--
    this.notify()
    this.checkStalled()
  }

  /** The next response frame on a provider's stream: fails when the stream ends, the provider is too slow, or the session ends. */
  private async next (bs: BlockStream): Promise<Uint8Array> {
    const ms = this.init.blockTimeoutMs ?? BLOCK_TIMEOUT_MS
    const signal = this.controller.signal
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      const result = await Promise.race([
        bs.responses.next(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => { reject(new TimeoutError(`no block within ${ms} ms`)) }, ms)
          onAbort = () => { reject(signal.reason) }
          if (signal.aborted) onAbort()
          else signal.addEventListener('abort', onAbort, { once: true })
        })
      ])
      if (result.done === true) throw new Error('provider closed the stream')
      return result.value
    } finally {
      clearTimeout(timer)
      if (onAbort != null) signal.removeEventListener('abort', onAbort)
    }
  }
}
