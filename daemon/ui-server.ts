import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { timingSafeEqual } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Logger } from './logger.js'
import { API_PREFIX } from '../lib/interface/api.js'
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../lib/interface/errors.js'
import { sendError } from './api/http.js'
import { closeServer, listenOn, urlHost } from './listen.js'

/** Where `npm run build` puts the console's assets (scripts/build-ui.mjs): `dist/ui`, beside the code's own directory. */
export const UI_ASSETS = fileURLToPath(new URL('../ui/', import.meta.url))

/** Paths of the control API the console may read without the token: everything but capability tokens and the audit trail. */
const PRIVATE_READS = [`${API_PREFIX}/auth`, `${API_PREFIX}/audit`]
/** Reads that are POSTs (a SPARQL query is a body): no token, but from the console's own page like any write. */
const READ_POSTS = new Set([`${API_PREFIX}/kg/query`])

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8'
}

/**
 * What a browser-facing endpoint on loopback needs (docs/console.md,
 * "Security"): scripts, styles and connections from this origin only, no
 * framing, no referrer, no MIME sniffing.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin'
}

export interface UiServerInit {
  /** answers a control API request as the socket would */
  api: { serve: (req: IncomingMessage, res: ServerResponse) => Promise<void> }
  /** the repo's API token: a request that changes anything must carry it */
  token: string
  log: Logger
  /** where the built assets are. @default UI_ASSETS */
  assets?: string
}

/**
 * The web console: the built single-page app and the control API, on a
 * loopback HTTP address of its own (`noodled start --ui HOST:PORT`). Reads
 * need nothing; a write needs the API token and must come from the
 * console's own origin. Every request must name this server in its Host
 * header: a page on another name that resolves here (DNS rebinding) gets
 * nothing (docs/console.md).
 */
export class UiServer {
  private readonly init: UiServerInit
  private readonly assets: string
  private readonly expected: Buffer
  private server?: Server
  private hosts = new Set<string>()
  /** `http://HOST:PORT` */
  url?: string
  /** requests refused, by why; logged (at most once per 10 s, with the counts) since a refusal may be an attack */
  readonly refused = { host: 0, crossOrigin: 0, unauthenticated: 0 }
  private lastReport = 0

  constructor (init: UiServerInit) {
    this.init = init
    this.assets = init.assets ?? UI_ASSETS
    this.expected = Buffer.from(`Bearer ${init.token}`)
  }

  async listen (hostPort: string): Promise<void> {
    if (this.server != null) return
    const server = createServer((req, res) => { void this.handle(req, res) })
    server.keepAliveTimeout = 5_000
    const address = await listenOn(server, hostPort)
    this.server = server
    const shown = urlHost(address)
    this.url = `http://${shown}:${address.port}`
    const host = hostPort.slice(0, hostPort.lastIndexOf(':'))
    // the names this server answers to: the address it is on, and localhost when that is loopback
    this.hosts = new Set([`${shown}:${address.port}`, `${host.toLowerCase()}:${address.port}`])
    if (isLoopback(address.address)) for (const name of ['localhost', '127.0.0.1', '[::1]']) this.hosts.add(`${name}:${address.port}`)
  }

  async close (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    await closeServer(server)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    try {
      const host = (req.headers.host ?? '').toLowerCase()
      if (!this.hosts.has(host)) {
        this.refused.host++
        throw new ForbiddenError(`Host "${host}" is not this console's (${[...this.hosts].join(', ')}): refused, as a page on another name resolving here would be`)
      }
      const url = new URL(req.url ?? '/', `http://${host}`)
      const method = req.method ?? 'GET'
      const reading = method === 'GET' || method === 'HEAD'
      if (url.pathname.startsWith(`${API_PREFIX}/`) || url.pathname === API_PREFIX) {
        if (!reading) this.checkWrite(req, host, !READ_POSTS.has(url.pathname))
        else if (PRIVATE_READS.some(p => url.pathname === p || url.pathname.startsWith(`${p}/`))) this.checkToken(req)
        await this.init.api.serve(req, res)
        return
      }
      if (!reading) throw new NotFoundError(`no such endpoint: ${method} ${url.pathname}`)
      await this.asset(url.pathname, res, method === 'HEAD')
    } catch (err: any) {
      req.resume()
      sendError(res, err instanceof Error ? err : new Error(String(err)))
      if (err?.name === 'ForbiddenError' || err?.name === 'UnauthenticatedError') this.report(req)
    }
  }

  private report (req: IncomingMessage): void {
    const now = Date.now()
    if (now - this.lastReport < 10_000) return
    this.lastReport = now
    this.init.log.warn({ refused: { ...this.refused }, host: req.headers.host, origin: req.headers.origin, path: (req.url ?? '/').split('?')[0] }, 'the web console refused requests (counts since start)')
  }

  /**
   * A write: from this console's own page (its Origin, or a same-origin
   * fetch by Sec-Fetch-Site), and with the token. A browser sends Origin on
   * every cross-origin request and on same-origin writes; a request with
   * neither header is not from a browser's page, and the token decides.
   */
  private checkWrite (req: IncomingMessage, host: string, token: boolean): void {
    const origin = req.headers.origin
    const site = req.headers['sec-fetch-site']
    if ((origin != null && origin !== `http://${host}`) || (site != null && site !== 'same-origin' && site !== 'none')) {
      this.refused.crossOrigin++
      throw new ForbiddenError(`a write from another origin (${String(origin ?? site)}) is refused`)
    }
    if (token) this.checkToken(req)
  }

  private checkToken (req: IncomingMessage): void {
    const given = Buffer.from(req.headers.authorization ?? '')
    if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) {
      this.refused.unauthenticated++
      throw new UnauthenticatedError('this needs the API token (Authorization: Bearer <the repo\'s api.token>); the console reads without it')
    }
  }

  private async asset (pathname: string, res: ServerResponse, head: boolean): Promise<void> {
    let rel: string
    try {
      rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1))
    } catch {
      throw new NotFoundError(`no such file: ${pathname}`)
    }
    const file = normalize(join(this.assets, rel))
    if (!file.startsWith(this.assets.endsWith(sep) ? this.assets : this.assets + sep) || rel.includes('\0')) throw new NotFoundError(`no such file: ${pathname}`)
    let body: Buffer
    try {
      body = await readFile(file)
    } catch {
      throw new NotFoundError(`no such file: ${pathname}${pathname === '/' ? ' (the console is not built: npm run build)' : ''}`)
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      'cache-control': 'no-cache'
    })
    res.end(head ? undefined : body)
  }
}

function isLoopback (address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1'
}
