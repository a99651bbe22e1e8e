import { chmod, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { ApiSocketPathTooLongError, InvalidRequestError, MethodNotAllowedError, NotFoundError, UnauthenticatedError } from '../../lib/interface/errors.js'
import { MAX_SOCKET_PATH } from '../../lib/repo/constants.js'
import type { Logger } from '../logger.js'
import { closeServer, listenOn, urlHost } from '../listen.js'
import { sendError, sendJson, sendText } from './http.js'

export interface RouteResult {
  status?: number
  /** JSON body, or a raw text body when `contentType` is set */
  body: unknown
  contentType?: string
}

/** Unix socket paths are limited (sun_path); say so before anything starts. */
export function checkSocketPath (socketPath: string): void {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new ApiSocketPathTooLongError(`API socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --repo path`)
  }
}

/**
 * A handler returns what to send, or `undefined` when it wrote the response
 * itself (streams). `rest` is the path below a `/*` route.
 */
export type Handler = (req: IncomingMessage, url: URL, res: ServerResponse, rest: string) => Promise<RouteResult | undefined>

/** `METHOD path` -> handler; a path ending in `/*` matches everything below it. */
export type Routes = Record<string, Handler>

/**
 * The control API: HTTP/JSON on a Unix socket that only the repo's owner can
 * open (the socket is 0600 inside a 0700 repo). Every error is answered as
 * `{ error: { name, message } }` with its status code; none escapes.
 */
export class ApiServer {
  private readonly server: Server
  private readonly routes: Routes
  private readonly log: Logger
  private socketPath?: string
  private tcp?: Server
  /** `http://HOST:PORT` of the TCP listener, when there is one */
  tcpUrl?: string
  /** requests refused for want of the bearer token; `onUnauthenticated` hears of them (at most one call per 10 s, with the count) */
  unauthenticated = 0
  onUnauthenticated?: (detail: { count: number, remote: string | undefined, path: string }) => void
  private lastUnauthenticatedReport = 0
  private unreported = 0

  constructor (routes: Routes, log: Logger) {
    this.routes = routes
    this.log = log
    this.server = createServer((req, res) => { void this.handle(req, res) })
    // a CLI call is short; keep-alive sockets must not hold up shutdown
    this.server.keepAliveTimeout = 1_000
  }

  async listen (socketPath: string): Promise<void> {
    checkSocketPath(socketPath)
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(socketPath, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.socketPath = socketPath
    await chmod(socketPath, 0o600)
  }

  /**
   * Also serve the API over TCP, for tools that cannot reach the socket.
   * Every request must carry `Authorization: Bearer <token>` (the repo's
   * `api.token`); without it: 401 `UnauthenticatedError`, and nothing runs.
   */
  async listenTcp (hostPort: string, token: string): Promise<void> {
    const expected = Buffer.from(`Bearer ${token}`)
    const server = createServer((req, res) => {
      const given = Buffer.from(req.headers.authorization ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.refuse(req, res)
        return
      }
      void this.handle(req, res)
    })
    server.keepAliveTimeout = 1_000
    const address = await listenOn(server, hostPort)
    this.tcp = server
    this.tcpUrl = `http://${urlHost(address)}:${address.port}`
  }

  private refuse (req: IncomingMessage, res: ServerResponse): void {
    this.unauthenticated++
    this.unreported++
    res.setHeader('www-authenticate', 'Bearer realm="noodled"')
    sendError(res, new UnauthenticatedError('this endpoint needs Authorization: Bearer <token> (the token is in the repo\'s api.token)'))
    // drain what was sent, so the connection can be reused
    req.resume()
    const now = Date.now()
    if (now - this.lastUnauthenticatedReport >= 10_000) {
      this.lastUnauthenticatedReport = now
      this.onUnauthenticated?.({ count: this.unreported, remote: req.socket.remoteAddress, path: (req.url ?? '/').split('?')[0]! })
      this.unreported = 0
    }
  }

  async close (): Promise<void> {
    if (this.tcp != null) {
      const tcp = this.tcp
      this.tcp = undefined
      await closeServer(tcp)
    }
    if (this.socketPath == null) return
    const path = this.socketPath
    this.socketPath = undefined
    await closeServer(this.server)
    await rm(path, { force: true })
  }

  /**
   * Answer one request that arrived elsewhere (the web console's server,
   * which has done its own checks) as the socket would.
   */
  async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.handle(req, res)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint()
    const url = new URL(req.url ?? '/', 'http://noodled')
    try {
      const [handler, rest] = this.route(req.method ?? 'GET', url.pathname)
      const result = await handler(req, url, res, rest)
      if (result == null) return
      if (result.contentType != null) {
        sendText(res, result.status ?? 200, result.contentType, String(result.body))
      } else {
        sendJson(res, result.status ?? 200, result.body)
      }
    } catch (err: any) {
      const error = err instanceof Error ? err : new Error(String(err))
      this.log.debug({ err: error, method: req.method, path: url.pathname }, 'API request failed')
      sendError(res, error)
    } finally {
      if (this.log.isLevelEnabled('trace')) {
        this.log.trace({ method: req.method, path: url.pathname, us: Number(process.hrtime.bigint() - started) / 1e3 }, 'API request')
      }
    }
  }

  private route (method: string, path: string): [Handler, string] {
    const handler = this.routes[`${method} ${path}`]
    if (handler != null) return [handler, '']
    for (const [key, h] of Object.entries(this.routes)) {
      const [m, pattern = ''] = key.split(' ')
      if (m === method && pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1)) && path.length > pattern.length - 1) {
        let rest: string
        try {
          rest = decodeURIComponent(path.slice(pattern.length - 1))
        } catch {
          // `%ff` and friends: a URIError would have been a 500 (found by fuzzing)
          throw new InvalidRequestError(`the path ${path} is not valid percent-encoding`)
        }
        return [h, rest]
      }
    }
    const allowed = Object.keys(this.routes).filter(k => {
      const pattern = k.split(' ')[1] ?? ''
      return pattern === path || (pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1)) && path.length > pattern.length - 1)
    }).map(k => k.split(' ')[0])
    if (allowed.length > 0) {
      throw new MethodNotAllowedError(`${method} is not allowed on ${path}; use ${allowed.join(', ')}`)
    }
    throw new NotFoundError(`no such endpoint: ${method} ${path}`)
  }
}
