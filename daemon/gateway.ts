import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidRequestError, ListenError, MethodNotAllowedError, NotFoundError } from '../lib/interface/errors.js'
import type { CallOptions } from '../lib/rpc/index.js'
import { readBody, sendError, statusFor } from './api/http.js'
import type { RpcTarget } from './api/rpc-routes.js'
import type { Logger } from './logger.js'
import { serveSparql, type SparqlTarget } from './sparql-protocol.js'

/** What the gateway needs: the mesh RPC client. */
export type GatewayTarget = Pick<RpcTarget, 'maxMessageBytes' | 'call'>

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
 * another. `GET|POST /sparql` is the SPARQL 1.1 Protocol's query operation
 * over the daemon's knowledge graphs (sparql-protocol.ts).
 */
export class Gateway {
  private readonly server: Server
  private readonly target: GatewayTarget
  private readonly log: Logger
  private readonly sparql?: SparqlTarget
  private address?: AddressInfo

  constructor (target: GatewayTarget, log: Logger, sparql?: SparqlTarget) {
    this.target = target
    this.log = log
    if (sparql != null) this.sparql = sparql
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
      const path = (req.url ?? '/').split('?')[0]!
      if (path === '/sparql' && this.sparql != null) {
        await serveSparql(req, res, new URL(req.url ?? '/', 'http://gateway'), this.sparql)
        return
      }
      const match = PATH.exec(path)
      if (match == null) throw new NotFoundError(`the gateway serves POST /svc/<service>/<fn>${this.sparql != null ? ' and GET|POST /sparql' : ''}`)
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
      // the same status for each error name as the control API; the service's own errors are 500
      if (statusFor(err) === 500) this.log.debug({ err: err.message, name: err.name }, 'gateway call failed')
      // a body left unread is not worth reading to keep the connection
      if (statusFor(err) === 413 && !res.headersSent) res.setHeader('connection', 'close')
      sendError(res, err)
    }
  }
}
