import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { CancelledError, DeadlineExceededError, InvalidRequestError, NoHandlerError, PayloadTooLargeError, ServiceNotReadyError } from '../interface/errors.js'
import { DEFAULT_TIMEOUT_MS, FRAME_OVERHEAD_BYTES, MAX_IN_FLIGHT_PER_STREAM, MAX_NAME_LENGTH, MAX_RPC_STREAMS, MAX_TIMEOUT_MS } from './constants.js'
import { FrameSender, onFrames } from '../frames.js'
import { ActiveDeadlines, CallDeadline } from './deadline.js'
import { handlerFor, type Handler, type Invocation, type LocalEndpoint } from './handlers.js'
import { PendingCalls } from './pending-calls.js'
import { Request, type Response } from './pb/rpc.js'
import { responseFrame } from './wire.js'

export interface RpcServerInit {
  protocol: string
  maxMessageBytes: number
  /** how this daemon serves `service` now, if it does */
  localEndpoint: (service: string) => LocalEndpoint | undefined
  /** true when `service` is placed here but not started yet: a call is answered ServiceNotReadyError, not NoHandlerError */
  starting?: (service: string) => boolean
  log: Logger
}

/**
 * What a handler is given: its signal is made only if the handler reads it.
 * A class for the reason `DeadlineOptions` is one (lib/rpc/deadline.ts): an
 * object literal with a getter kept every call's garbage past the
 * young-generation collections.
 */
class ServedInvocation implements Invocation {
  readonly service: string
  readonly fn: string
  readonly payload: Uint8Array
  readonly timeoutMs: number
  onAbort?: (reason: Error) => void
  private readonly deadline: CallDeadline

  constructor (service: string, fn: string, payload: Uint8Array, timeoutMs: number, deadline: CallDeadline) {
    this.service = service
    this.fn = fn
    this.payload = payload
    this.timeoutMs = timeoutMs
    this.deadline = deadline
  }

  get signal (): AbortSignal {
    return this.deadline.signal
  }
}

export interface RpcServerCounters {
  served: number
  serveErrors: number
  deadlineExceeded: number
  /** calls their caller cancelled before the deadline (a cancel frame, or the local caller's signal) */
  cancelled: number
  malformedFrames: number
}

/**
 * The callee's side of `/noodle/rpc/1.0.0`: requests arrive on long-lived
 * streams, each is dispatched to the local handler of its service with a
 * signal that aborts at its deadline, and answers go back on the same
 * stream as they finish (in any order). A malformed or oversized frame
 * aborts that stream only; a stream with too many requests in flight stops
 * being read until half are answered.
 */
export class RpcServer {
  readonly counters: RpcServerCounters = { served: 0, serveErrors: 0, deadlineExceeded: 0, cancelled: 0, malformedFrames: 0 }
  private readonly registrar: Registrar
  private readonly init: RpcServerInit
  private readonly handlers = new Map<string, Handler>()
  /** calls being handled: ended when the daemon stops */
  private readonly active = new ActiveDeadlines()

  constructor (registrar: Registrar, init: RpcServerInit) {
    this.registrar = registrar
    this.init = init
  }

  async start (): Promise<void> {
    await this.registrar.handle(this.init.protocol, (stream, connection) => { this.serve(stream, connection) }, {
      maxInboundStreams: MAX_RPC_STREAMS,
      maxOutboundStreams: MAX_RPC_STREAMS
    })
  }

  async stop (): Promise<void> {
    this.active.abortAll(new NoHandlerError('daemon stopping'))
    for (const handler of this.handlers.values()) handler.close?.()
    this.handlers.clear()
    await this.registrar.unhandle(this.init.protocol)
  }

  /**
   * Run one invocation here: what the client does for a local instance, and
   * what a stream's request gets. Not an async function, like the client's
   * hot path: one promise a call and no async frame held while the handler
   * runs (docs/design.md, "RPC hot path"). `signal` (a local caller's)
   * cancels the call; `calls` and `id` file the call's deadline under its
   * request id on a stream, for a cancel frame to find.
   */
  invoke (service: string, fn: string, payload: Uint8Array, timeoutMs: number, signal?: AbortSignal, calls?: PendingCalls<CallDeadline>, id?: number): Promise<Uint8Array> {
    const endpoint = this.init.localEndpoint(service)
    if (endpoint == null) {
      if (this.init.starting?.(service) === true) return Promise.reject(new ServiceNotReadyError(`"${service}" is placed here and starting`))
      return Promise.reject(new NoHandlerError(`this daemon does not host "${service}"`))
    }
    let handler: Handler | undefined
    if (endpoint.kind === 'module') {
      // the runtime's pool of the moment (a hot swap replaces it): not cached
      handler = endpoint.handler
    } else {
      const key = endpoint.kind === 'builtin' ? `builtin ${endpoint.name}` : `${endpoint.kind} ${endpoint.url}`
      handler = this.handlers.get(key)
      if (handler == null) {
        handler = handlerFor(endpoint, this.init.maxMessageBytes)
        this.handlers.set(key, handler)
      }
    }
    // a timer and a callback per call, and a signal only for a handler that reads it (CallDeadline)
    const deadline = new CallDeadline(timeoutMs, () => new DeadlineExceededError(`"${service}/${fn}" did not answer within ${timeoutMs} ms`), signal)
    this.active.add(deadline)
    if (calls != null) calls.set(id!, deadline)
    const max = this.init.maxMessageBytes
    return new Promise<Uint8Array>((resolve, reject) => {
      let ended = false
      // the first of the handler's answer, its failure and the deadline ends the call
      const end = (err: Error | undefined, result?: Uint8Array): void => {
        if (ended) return
        ended = true
        deadline.clear()
        this.active.delete(deadline)
        if (calls != null) calls.delete(id!)
        if (err != null) reject(deadline.reason instanceof DeadlineExceededError ? deadline.reason : err)
        else if (result!.byteLength > max) reject(new PayloadTooLargeError(`response of ${result!.byteLength} bytes exceeds the ${max} byte limit`))
        else resolve(result!)
      }
      const invocation = new ServedInvocation(service, fn, payload, timeoutMs, deadline)
      // a handler that ignores its signal still gets no more time than the deadline
      deadline.wait((reason) => {
        if (reason instanceof CancelledError || signal?.aborted === true) this.counters.cancelled++
        invocation.onAbort?.(reason)
        end(reason)
      })
      try {
        handler(invocation).then((result) => { end(undefined, result) }, (err: Error) => { end(err) })
      } catch (err: any) {
        end(err instanceof Error ? err : new Error(String(err)))
      }
    })
  }

  private serve (stream: Stream, connection: Connection): void {
    const sender = new FrameSender(stream)
    // the calls of this stream being handled, by request id: what a cancel frame ends
    const calls = new PendingCalls<CallDeadline>()
    let inFlight = 0
    let paused = false
    let callerDone = false
    // once the caller has closed its side and every call is answered, close ours
    const closeIfDone = (): void => {
      if (!callerDone || inFlight > 0) return
      sender.flushed().then(async () => { await stream.close() }).catch(() => {})
    }
    const answer = (res: Response): void => {
      inFlight--
      if (paused && inFlight <= MAX_IN_FLIGHT_PER_STREAM / 2) {
        paused = false
        stream.resume()
      }
      if (stream.writeStatus !== 'writable') return
      try {
        sender.send(responseFrame(res))
      } catch (err) {
        this.init.log.trace('could not answer on a closing stream from %p: %e', connection.remotePeer, err)
      }
      closeIfDone()
    }
    onFrames(stream, this.init.maxMessageBytes + FRAME_OVERHEAD_BYTES, (bytes) => {
      const req = Request.decode(bytes)
      if (req.cancel) {
        calls.get(req.id)?.abort(new CancelledError(`the caller cancelled call ${req.id}`))
        return
      }
      inFlight++
      if (inFlight >= MAX_IN_FLIGHT_PER_STREAM && !paused) {
        paused = true
        stream.pause()
      }
      this.handle(req, calls).then(answer, () => {})
    }, (err) => {
      this.counters.malformedFrames++
      this.init.log('malformed rpc frame from %p, stream aborted: %e', connection.remotePeer, err)
    })
    stream.addEventListener('remoteCloseWrite', () => {
      callerDone = true
      closeIfDone()
    }, { once: true })
  }

  /** The answer to a request: never rejects (a failure is an answer too). */
  private handle (req: Request, calls: PendingCalls<CallDeadline>): Promise<Response> {
    if (req.service === '' || req.fn === '' || req.service.length > MAX_NAME_LENGTH || req.fn.length > MAX_NAME_LENGTH) {
      return Promise.resolve(this.failure(req, new InvalidRequestError('a request needs a service and a function name of at most 256 characters')))
    }
    const timeoutMs = Math.min(req.timeoutMs === 0 ? DEFAULT_TIMEOUT_MS : req.timeoutMs, MAX_TIMEOUT_MS)
    return this.invoke(req.service, req.fn, req.payload, timeoutMs, undefined, calls, req.id).then(
      (payload) => {
        this.counters.served++
        return { id: req.id, payload: payload as Uint8Array<ArrayBuffer> }
      },
      (err: any) => this.failure(req, err)
    )
  }

  private failure (req: Request, err: any): Response {
    this.counters.serveErrors++
    if (err?.name === 'DeadlineExceededError') this.counters.deadlineExceeded++
    return { id: req.id, error: { name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) }, payload: new Uint8Array(0) }
  }
}
