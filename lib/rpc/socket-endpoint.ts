import { connect, type Socket } from 'node:net'
import { FrameDecoder } from '../frame-decoder.js'
import { PayloadTooLargeError, ServiceEndpointError, serviceError } from '../interface/errors.js'
import { FRAME_OVERHEAD_BYTES } from './constants.js'
import type { Handler, Invocation } from './handlers.js'
import { PendingCalls } from './pending-calls.js'
import { requestFrame } from './wire.js'
import { Response } from './pb/rpc.js'

/** Whether an endpoint claims to be a socket endpoint (`rpc+unix:` or `rpc+tcp:`); parseSocketEndpoint says whether it is a valid one. */
export function isSocketEndpoint (endpoint: string): boolean {
  return endpoint.startsWith('rpc+')
}

/** Where a socket endpoint listens: a Unix socket path, or a host and port. */
export type SocketAddress = { path: string } | { host: string, port: number }

/**
 * `rpc+unix:///abs/path.sock` or `rpc+tcp://host:port`, or undefined for
 * anything else (an http(s) or built-in endpoint, or a malformed one).
 */
export function parseSocketEndpoint (endpoint: string): SocketAddress | undefined {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return undefined
  }
  if (url.protocol === 'rpc+unix:') {
    // rpc+unix:///run/x.sock: no host, an absolute path
    const path = decodeURIComponent(url.pathname)
    return url.host === '' && path.startsWith('/') && path.length > 1 && url.search === '' && url.hash === '' ? { path } : undefined
  }
  if (url.protocol === 'rpc+tcp:') {
    const port = Number(url.port)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    return host !== '' && Number.isInteger(port) && port > 0 && (url.pathname === '' || url.pathname === '/') ? { host, port } : undefined
  }
  return undefined
}

/** An idle connection to a socket endpoint is closed after this long (reopened by the next call). */
const SOCKET_IDLE_MS = 30_000
/** How often calls the endpoint never answered are let go (the server already answered their callers at the deadline). */
const SWEEP_MS = 1_000
/**
 * Requests written but not yet taken by the endpoint, in bytes, past which
 * calls are refused: an endpoint that stopped reading would otherwise have
 * the daemon buffer every request sent its way until memory runs out.
 */
const MAX_UNSENT_BYTES = 64 * 1024 * 1024

interface Waiting {
  resolve: (payload: Uint8Array) => void
  reject: (err: Error) => void
  /** performance.now() after which the caller has had its answer (DeadlineExceededError) from the server */
  expires: number
}

/**
 * Forward invocations to a local process over one long-lived connection in
 * the mesh's own framing: the `Request` and `Response` messages of
 * `/noodle/rpc/1.0.0` (lib/rpc/pb/rpc.proto), each an unsigned varint length
 * and the message, requests carrying ids and answers matched to them, any
 * number in flight and answered in any order. What the mesh RPC does between
 * daemons, minus Noise and yamux, which a connection on this host needs
 * neither of.
 *
 * The HTTP path costs the daemon an HTTP client request and the service an
 * HTTP server request per call (headers, request and response objects on
 * both sides): through the gateway to an HTTP echo it ran at half the rate
 * of the built-in echo. Frames cost each side a varint and a protobuf
 * message, written together per turn of the event loop.
 *
 * Deadlines: each request carries the time left (`timeout_ms`); the server
 * answers the caller at the deadline whatever the endpoint does, and calls
 * the endpoint never answers are let go by a sweep, not a timer per call.
 * A connection that closes fails its calls with ServiceEndpointError; the
 * next call connects again. An oversized or malformed answer closes the
 * connection (the endpoint is misbehaving) and fails the calls on it.
 */
export class SocketEndpoint {
  readonly endpoint: string
  private readonly address: SocketAddress
  private readonly maxFrameBytes: number
  private socket?: Socket
  private connected = false
  private readonly pending = new PendingCalls<Waiting>()
  private nextId = 1
  private corked = false
  private sweeper?: ReturnType<typeof setInterval>

  constructor (endpoint: string, maxBytes: number) {
    const address = parseSocketEndpoint(endpoint)
    if (address == null) throw new ServiceEndpointError(`not a socket endpoint: ${endpoint}`)
    this.endpoint = endpoint
    this.address = address
    this.maxFrameBytes = maxBytes + FRAME_OVERHEAD_BYTES
  }

  /** The handler: one invocation, one request frame. */
  readonly call: Handler = (inv: Invocation): Promise<Uint8Array> => {
    const socket = this.socket ?? this.open()
    if (socket.writableLength > MAX_UNSENT_BYTES) return Promise.reject(new ServiceEndpointError(`endpoint ${this.endpoint} is not keeping up: ${socket.writableLength} bytes of requests not yet taken`))
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, expires: performance.now() + inv.timeoutMs })
      this.sweeper ??= setInterval(() => { this.sweep() }, SWEEP_MS).unref()
      // frames of one turn leave in one write (net.Socket buffers them until uncork, also while connecting)
      if (!this.corked) {
        this.corked = true
        socket.cork()
        process.nextTick(() => { this.corked = false; socket.uncork() })
      }
      socket.write(requestFrame({ id, service: inv.service, fn: inv.fn, timeoutMs: inv.timeoutMs, idempotent: false, payload: inv.payload as Uint8Array<ArrayBuffer> }))
    })
  }

  /** Close the connection and fail what waits on it. Idempotent. */
  close (): void {
    const err = new ServiceEndpointError(`endpoint ${this.endpoint} closed`)
    if (this.socket != null) this.drop(this.socket, err)
    else this.failAll(err)
  }

  private open (): Socket {
    const socket = 'path' in this.address ? connect({ path: this.address.path }) : connect({ host: this.address.host, port: this.address.port })
    this.socket = socket
    this.connected = false
    if ('host' in this.address) socket.setNoDelay(true)
    socket.setTimeout(SOCKET_IDLE_MS)
    const decoder = new FrameDecoder(this.maxFrameBytes)
    const onFrame = (bytes: Uint8Array): void => { this.answer(Response.decode(bytes)) }
    socket.on('connect', () => { this.connected = true })
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.decode(chunk, onFrame)
      } catch (err: any) {
        // the decoder refuses a length prefix over the limit before buffering the frame
        this.drop(socket, err instanceof PayloadTooLargeError
          ? new PayloadTooLargeError(`endpoint ${this.endpoint} sent an answer over the ${this.maxFrameBytes - FRAME_OVERHEAD_BYTES} byte limit`)
          : new ServiceEndpointError(`endpoint ${this.endpoint} sent a malformed answer: ${err?.message ?? err}`))
      }
    })
    socket.on('timeout', () => {
      // idle: nothing sent or received for SOCKET_IDLE_MS; with calls still out it is merely slow
      if (this.pending.size === 0) this.drop(socket, new ServiceEndpointError(`endpoint ${this.endpoint} closed (idle)`))
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.drop(socket, new ServiceEndpointError(this.connected
        ? `endpoint ${this.endpoint} broke the connection: ${err.code ?? err.message}`
        : `endpoint ${this.endpoint} unreachable: ${err.code ?? err.message}`))
    })
    socket.on('close', () => { this.drop(socket, new ServiceEndpointError(`endpoint ${this.endpoint} closed the connection`)) })
    return socket
  }

  private answer (res: Response): void {
    const waiting = this.pending.get(res.id)
    if (waiting == null) return // its caller had its answer at the deadline
    this.pending.delete(res.id)
    if (res.error == null) waiting.resolve(res.payload)
    else waiting.reject(serviceError(res.error.name, res.error.message))
  }

  /** The connection is over: forget it (the next call opens another) and fail its calls. */
  private drop (socket: Socket, err: Error): void {
    if (this.socket !== socket) return
    this.socket = undefined
    this.corked = false
    socket.destroy()
    this.failAll(err)
  }

  private failAll (err: Error): void {
    const waiting = this.pending.entries()
    this.pending.clear()
    for (const [, w] of waiting) w.reject(err)
    this.stopSweeping()
  }

  private sweep (): void {
    const now = performance.now()
    for (const [id, w] of this.pending.entries()) {
      if (w.expires > now) continue
      this.pending.delete(id)
      w.reject(new ServiceEndpointError(`endpoint ${this.endpoint} did not answer in time`))
    }
    if (this.pending.size === 0) this.stopSweeping()
  }

  private stopSweeping (): void {
    if (this.sweeper != null) clearInterval(this.sweeper)
    this.sweeper = undefined
  }
}
