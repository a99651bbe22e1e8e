import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidRequestError, ListenError, MethodNotAllowedError, NotFoundError, PayloadTooLargeError } from '../lib/interface/errors.js'
import type { CallOptions, CallResult } from '../lib/rpc/index.js'
import type { Logger } from './logger.js'

/** What the gateway needs: the mesh RPC client. */
export interface GatewayTarget {
  readonly maxMessageBytes: number
  call: (service: string, fn: string, payload: Uint8Array, options: CallOptions) => Promise<CallResult>
}

/** HTTP status for each error a call can end with; the service's own named errors are 500. */
const STATUS: Record<string, number> = {
  InvalidRequestError: 400,
  NotFoundError: 404,
  ServiceNotFoundError: 404,
  MethodNotAllowedError: 405,
  PayloadTooLargeError: 413,
  InstanceUnreachableError: 502,
  ServiceEndpointError: 502,
  NoInstanceError: 503,
  NoHandlerError: 503,
  DeadlineExceededError: 504
}

const PATH = /^\/svc\/([^/]+)\/([^/]+)$/

/**
 * The HTTP gateway (`noodled start --gateway HOST:PORT`): `POST
 * /svc/<service>/<fn>` with the input as the body calls the service on one
 * of its live instances anywhere in the mesh and answers with its output
 * (200, `application/octet-stream`, `x-noodle-instance` and
 * `x-noodle-attempts` headers). Errors are JSON `{ error: { name, message } }`:
 * 404 unknown service, 503 no live instance, 504 deadline exceeded, 413 too
 * large, 502 the instance failed, 400 a bad request, 500 the service's own
 * error. `x-noodle-timeout-ms` sets the deadline (default 10 s);
 * `x-noodle-idempotent: true` lets a failed instance's call be retried on
 * another.
 */
export class Gateway {
  private readonly server: Server
  private readonly target: GatewayTarget
  private readonly log: Logger
  private address?: AddressInfo

  constructor (target: GatewayTarget, log: Logger) {
    this.target = target
    this.log = log
    this.server = createServer((req, res) => { void this.handle(req, res) })
    this.server.keepAliveTimeout = 30_000
  }

  get url (): string | undefined {
    if (this.address == null) return undefined
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address
    return `http://${host}:${this.address.port}`
  }

  async listen (hostPort: string): Promise<void> {
    const i = hostPort.lastIndexOf(':')
    const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '')
    const port = Number(hostPort.slice(i + 1))
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => { reject(new ListenError(`gateway cannot listen on ${hostPort}: ${err.message}`)) }
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    this.address = this.server.address() as AddressInfo
  }

  async close (): Promise<void> {
    if (this.address == null) return
    this.address = undefined
    await new Promise<void>(resolve => {
      this.server.close(() => { resolve() })
      this.server.closeAllConnections()
    })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const match = PATH.exec((req.url ?? '/').split('?')[0]!)
      if (match == null) throw new NotFoundError('the gateway serves POST /svc/<service>/<fn>')
      if (req.method !== 'POST') throw new MethodNotAllowedError(`${req.method ?? ''} not allowed: use POST`)
      const service = decodeURIComponent(match[1]!)
      const fn = decodeURIComponent(match[2]!)
      const options: CallOptions = { idempotent: req.headers['x-noodle-idempotent'] === 'true' }
      const timeout = req.headers['x-noodle-timeout-ms']
      if (timeout != null) {
        const ms = Number(timeout)
        if (!Number.isInteger(ms) || ms < 1) throw new InvalidRequestError('x-noodle-timeout-ms must be a positive integer')
        options.timeoutMs = ms
      }
      const body = await readBody(req, this.target.maxMessageBytes)
      const result = await this.target.call(service, fn, body, options)
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': result.payload.byteLength,
        'x-noodle-instance': result.instance,
        'x-noodle-attempts': result.attempts
      })
      res.end(result.payload)
    } catch (err: any) {
      const status = STATUS[err.name] ?? 500
      if (status === 500) this.log.debug({ err: err.message, name: err.name }, 'gateway call failed')
      const text = JSON.stringify({ error: { name: String(err.name ?? 'Error'), message: String(err.message ?? err) } })
      if (res.headersSent) {
        res.destroy()
        return
      }
      // a body left unread would otherwise be parsed as the next request
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...(status === 413 ? { connection: 'close' } : {}) })
      res.end(text)
    }
  }
}

/** The request body, refused past `limit` bytes (on the declared length first, before reading). */
async function readBody (req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw new PayloadTooLargeError(`request body of ${declared} bytes exceeds the ${limit} byte limit`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new PayloadTooLargeError(`request body exceeds the ${limit} byte limit`)
    chunks.push(chunk as Buffer)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}
