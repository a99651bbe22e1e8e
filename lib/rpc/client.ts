import { peerIdFromString } from '@libp2p/peer-id'
import { raceSignal } from 'race-signal'
import type { Logger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { DeadlineExceededError, InstanceUnreachableError, NoInstanceError, PayloadTooLargeError } from '../interface/errors.js'
import type { ResolveView } from '../interface/api.js'
import { Balancer } from './balancer.js'
import { RpcChannel } from './channel.js'
import { CallDeadline } from './deadline.js'
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, OPEN_TIMEOUT_MS } from './constants.js'
import { timeoutSignal } from '../signals.js'

export interface CallOptions {
  signal?: AbortSignal
  /** the call's deadline, from now; it travels with the request. @default DEFAULT_TIMEOUT_MS */
  timeoutMs?: number
  /**
   * The call may run more than once: it is retried on another instance when
   * its instance fails (stream lost, daemon suspect or failed, endpoint
   * down). Calls that are not idempotent are retried only when they surely
   * did not run (the instance could not be reached, or does not host the
   * service).
   */
  idempotent?: boolean
  /** attempts, the first included. @default DEFAULT_MAX_ATTEMPTS */
  maxAttempts?: number
  /** instances (peer ids) not to use: a hedged call goes to another instance than the one still working */
  exclude?: ReadonlySet<string>
  /** told each instance an attempt goes to, before it is sent (a hedge then knows which one to avoid) */
  onAttempt?: (peer: string) => void
}

export interface CallResult {
  payload: Uint8Array
  /** peer id of the instance that answered */
  instance: string
  attempts: number
  elapsedMs: number
}

export interface RpcClientInit {
  self: string
  protocol: string
  maxMessageBytes: number
  connectionManager: ConnectionManager
  resolve: (service: string, options: { signal?: AbortSignal }) => Promise<ResolveView>
  /** the view resolve() would give now, when it is cached (no waiting); undefined otherwise */
  cached?: (service: string) => ResolveView | undefined
  /** run a call on this daemon's own instance (no network hop) */
  invokeLocal: (service: string, fn: string, payload: Uint8Array, timeoutMs: number, signal?: AbortSignal) => Promise<Uint8Array>
  log: Logger
}

export interface RpcClientCounters {
  calls: number
  succeeded: number
  failed: number
  retries: number
  localCalls: number
}

/** Errors after which the instance is counted as failing and another may be tried. */
const INSTANCE_FAILURES = new Set(['InstanceUnreachableError', 'NoHandlerError', 'ServiceNotReadyError', 'ServiceEndpointError'])
/** Of those, the ones that mean the call surely did not run there (safe to retry any call). */
const NOT_RUN = new Set(['NoHandlerError', 'ServiceNotReadyError'])

class NotSentError extends InstanceUnreachableError {}

const NOTHING_TRIED: Set<string> = new Set()

const expiredError = (service: string, deadline: CallDeadline): DeadlineExceededError =>
  new DeadlineExceededError(`no answer from "${service}" within ${deadline.timeoutMs} ms`)

/**
 * Calls services anywhere in the mesh: resolves the service to its live
 * instances (the registry's cached view: catalog, placement, membership,
 * adverts, DHT), picks one (Balancer), and sends the call over a long-lived
 * stream to that instance's daemon, or runs it here when the instance is
 * this daemon's own. Failed instances are retried as CallOptions says.
 */
export class RpcClient {
  readonly counters: RpcClientCounters = { calls: 0, succeeded: 0, failed: 0, retries: 0, localCalls: 0 }
  readonly balancer = new Balancer()
  private readonly init: RpcClientInit
  /** per peer: its channel, opening or open */
  private readonly channels = new Map<string, Promise<RpcChannel>>()
  /** per peer: its channel once open (calls take it without waiting on a promise) */
  private readonly ready = new Map<string, RpcChannel>()

  constructor (init: RpcClientInit) {
    this.init = init
  }

  /**
   * The member is suspected: its idempotent calls in flight move on to
   * another instance now; the others keep waiting (a suspect member is often
   * only slow, and their answer may yet come), as does the stream.
   */
  memberSuspect (peerId: string): void {
    const channel = this.ready.get(peerId)
    if (channel == null) return
    const released = channel.releaseIdempotent(new InstanceUnreachableError(`member ${peerId} is suspect`))
    if (released > 0) this.init.log('member %s is suspect: %d idempotent calls move on', peerId, released)
  }

  /** The member failed, left or disconnected: calls waiting on it fail now (and idempotent ones move on). */
  memberDown (peerId: string, why: string): void {
    const channel = this.channels.get(peerId)
    if (channel == null) return
    this.channels.delete(peerId)
    channel.then(c => {
      c.fail(new InstanceUnreachableError(`member ${peerId} is ${why}`))
      c.stream.abort(new InstanceUnreachableError(`member ${peerId} is ${why}`))
    }, () => {})
  }

  close (): void {
    for (const peerId of [...this.channels.keys()]) this.memberDown(peerId, 'gone: client closed')
  }

  /**
   * Call `fn` of `service` on one of its instances. No async function on the
   * way when nothing needs awaiting (the view cached, the chosen instance
   * remote with its stream open: nearly every call): each async frame is
   * garbage a call leaves, and young-generation collections of that garbage
   * set the tail latency (docs/design.md, "RPC hot path").
   */
  call (service: string, fn: string, payload: Uint8Array, options: CallOptions = {}): Promise<CallResult> {
    const started = performance.now()
    this.counters.calls++
    return this.attempt(service, fn, payload, options, started).then(
      (result) => { this.counters.succeeded++; return result },
      (err) => { this.counters.failed++; throw err }
    )
  }

  /** The call under its deadline (CallDeadline: one timer, no AbortSignal listener on the way). */
  private attempt (service: string, fn: string, payload: Uint8Array, options: CallOptions, started: number): Promise<CallResult> {
    if (payload.byteLength > this.init.maxMessageBytes) {
      return Promise.reject(new PayloadTooLargeError(`payload of ${payload.byteLength} bytes exceeds the ${this.init.maxMessageBytes} byte limit`))
    }
    const timeoutMs = Math.min(Math.max(1, Math.round(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)), MAX_TIMEOUT_MS)
    if (options.signal?.aborted === true) return Promise.reject(options.signal.reason)
    const deadline = new CallDeadline(timeoutMs, () => new DeadlineExceededError(`no answer from "${service}" within ${timeoutMs} ms`), options.signal)
    const run = this.first(service, fn, payload, options, started, deadline) ?? this.attempts(service, fn, payload, options, started, deadline, new Set(options.exclude), 1)
    return run.then(
      (result) => { deadline.clear(); return result },
      (err) => { deadline.clear(); throw err }
    )
  }

  /**
   * The first attempt, when it needs no waiting: the service's view is
   * cached, and the instance picked is remote with its stream open.
   * Undefined otherwise (attempts() then does it all). A failure continues
   * in attempts() with that instance tried.
   */
  private first (service: string, fn: string, payload: Uint8Array, options: CallOptions, started: number, deadline: CallDeadline): Promise<CallResult> | undefined {
    const view = this.init.cached?.(service)
    if (view == null) return undefined
    const peer = this.balancer.pick(service, view.instances, options.exclude ?? NOTHING_TRIED)
    if (peer == null || peer === this.init.self) return undefined
    const channel = this.ready.get(peer)
    if (channel?.open !== true) return undefined
    options.onAttempt?.(peer)
    this.balancer.begin(peer)
    const sent = performance.now()
    return channel.call({ service, fn, timeoutMs: deadline.remainingMs(), idempotent: options.idempotent === true, payload: payload as Uint8Array<ArrayBuffer> }, deadline).then(
      (result) => {
        this.balancer.end(peer)
        this.balancer.observe(service, peer, performance.now() - sent)
        this.balancer.succeeded(service, peer)
        return { payload: result, instance: peer, attempts: 1, elapsedMs: Math.round((performance.now() - started) * 100) / 100 }
      },
      async (err: any) => {
        this.balancer.end(peer)
        this.balancer.observe(service, peer, performance.now() - sent, true)
        const fatal = this.afterFailure(service, fn, peer, err, options, deadline, 1)
        if (fatal != null) throw fatal
        return await this.attempts(service, fn, payload, options, started, deadline, new Set([...(options.exclude ?? []), peer]), 2, err, view)
      }
    )
  }

  /**
   * Attempts `from` on, each on an instance not yet tried, as CallOptions
   * allows; `view` is the service's instances if already resolved.
   */
  private async attempts (service: string, fn: string, payload: Uint8Array, options: CallOptions, started: number, deadline: CallDeadline, tried: Set<string>, from: number, lastError?: Error, view?: ResolveView): Promise<CallResult> {
    const resolve = async (): Promise<ResolveView> => {
      try {
        return await this.init.resolve(service, deadline.options)
      } catch (err) {
        if (deadline.reason instanceof DeadlineExceededError) throw expiredError(service, deadline)
        throw err
      }
    }
    const maxAttempts = this.maxAttempts(options)
    for (let attempt = from; attempt <= maxAttempts; attempt++) {
      // a retry looks again: an instance may have appeared, or its member been suspected, meanwhile
      if (view == null) view = await resolve()
      else if (attempt > 1) view = await resolve().catch(() => view!)
      const peer = this.balancer.pick(service, view.instances, tried)
      if (peer == null) {
        if (lastError != null) throw lastError
        throw new NoInstanceError(`no live instance of "${service}" (${view.instances.length} known, none healthy)`)
      }
      tried.add(peer)
      options.onAttempt?.(peer)
      if (attempt > 1) this.counters.retries++
      this.balancer.begin(peer)
      const sent = performance.now()
      let answered = false
      try {
        const result = await this.send(peer, service, fn, payload, options.idempotent === true, deadline, options.signal)
        answered = true
        this.balancer.succeeded(service, peer)
        return { payload: result, instance: peer, attempts: attempt, elapsedMs: Math.round((performance.now() - started) * 100) / 100 }
      } catch (err: any) {
        const fatal = this.afterFailure(service, fn, peer, err, options, deadline, attempt)
        if (fatal != null) throw fatal
        lastError = err
      } finally {
        this.balancer.end(peer)
        this.balancer.observe(service, peer, performance.now() - sent, !answered)
      }
    }
    throw lastError ?? new NoInstanceError(`no live instance of "${service}"`)
  }

  private maxAttempts (options: CallOptions): number {
    return Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)
  }

  /**
   * After attempt `attempt` failed on `peer` with `err`: the error the caller
   * gets, or undefined when another instance may be tried (the failure then
   * counts against `peer`).
   */
  private afterFailure (service: string, fn: string, peer: string, err: any, options: CallOptions, deadline: CallDeadline, attempt: number): Error | undefined {
    if (deadline.reason instanceof DeadlineExceededError || err.name === 'DeadlineExceededError') return expiredError(service, deadline)
    if (options.signal?.aborted === true) return err
    if (!INSTANCE_FAILURES.has(err.name)) return err // the service's own answer
    if (err.name === 'ServiceNotReadyError') this.balancer.notReady(service, peer)
    else this.balancer.failed(service, peer)
    const notRun = err instanceof NotSentError || NOT_RUN.has(err.name)
    if (options.idempotent !== true && !notRun) return err
    const maxAttempts = this.maxAttempts(options)
    this.init.log('call to %s/%s on %s failed (%s), %s', service, fn, peer, err.message, attempt < maxAttempts ? 'trying another instance' : 'giving up')
    return undefined
  }

  private async send (peer: string, service: string, fn: string, payload: Uint8Array, idempotent: boolean, deadline: CallDeadline, signal?: AbortSignal): Promise<Uint8Array> {
    if (peer === this.init.self) {
      this.counters.localCalls++
      return await this.init.invokeLocal(service, fn, payload, deadline.remainingMs(), signal)
    }
    const ready = this.ready.get(peer)
    const channel = ready?.open === true ? ready : await this.channel(peer, deadline.signal)
    return await channel.call({ service, fn, timeoutMs: deadline.remainingMs(), idempotent, payload: payload as Uint8Array<ArrayBuffer> }, deadline)
  }

  /**
   * A new channel to `peer`, or the one being opened. Opening is shared by
   * every call that needs it and bounded by its own timeout, not by the
   * first caller's deadline; each caller waits only as long as its own.
   */
  private async channel (peer: string, signal: AbortSignal): Promise<RpcChannel> {
    const existing = this.channels.get(peer)
    if (existing != null) {
      const channel = await raceSignal(existing, signal).catch((err) => { if (signal.aborted) throw err })
      if (channel?.open === true) return channel
      if (this.channels.get(peer) === existing) this.forget(peer)
    }
    const opening = this.open(peer)
    this.channels.set(peer, opening)
    opening.then(c => { if (this.channels.get(peer) === opening) this.ready.set(peer, c) }, () => { if (this.channels.get(peer) === opening) this.forget(peer) })
    return await raceSignal(opening, signal)
  }

  private forget (peer: string): void {
    this.channels.delete(peer)
    this.ready.delete(peer)
  }

  private async open (peer: string): Promise<RpcChannel> {
    const signal = timeoutSignal(OPEN_TIMEOUT_MS)
    try {
      const connection = await this.init.connectionManager.openConnection(peerIdFromString(peer), { signal })
      const stream = await connection.newStream(this.init.protocol, { signal })
      const channel: RpcChannel = new RpcChannel(stream, this.init.maxMessageBytes, () => {
        void this.channels.get(peer)?.then(c => { if (c === channel) this.forget(peer) }, () => {})
      })
      return channel
    } catch (err: any) {
      throw new NotSentError(`could not reach ${peer}: ${err.message}`)
    }
  }
}
