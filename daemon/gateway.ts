import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InvalidRequestError, ListenError, MethodNotAllowedError, NotFoundError } from '../lib/interface/errors.js'
import type { CallOptions } from '../lib/rpc/index.js'
import { readBody, sendError, statusFor } from './api/http.js'
import { closeServer, listenOn, urlHost } from './listen.js'
import type { RpcTarget } from './api/rpc-routes.js'
import type { Logger } from './logger.js'
import { serveSparql, type SparqlTarget } from './sparql-protocol.js'
import { fuseOptionsFrom, inputsFrom, MAX_FUSE_BODY, type FusionTarget } from './api/fusion-routes.js'
import { inputsFromMultipart } from './multipart.js'

/** What the gateway needs: the mesh RPC client. */
export type GatewayTarget = Pick<RpcTarget, 'maxMessageBytes' | 'call'>

const PATH = /^\/svc\/([^/]+)\/([^/]+)$/
const FUSE_PATH = /^\/fuse\/([^/]+)$/

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
 * over the daemon's knowledge graphs (sparql-protocol.ts). `POST
 * /fuse/<task>` fuses one input (docs/fusion.md): JSON `{ inputs: [{
 * modality, mediaType, dataBase64 }], deadlineMs?, rule?, context? }`, or
 * `multipart/form-data` with one file part per modality (the part's name is
 * the modality, its Content-Type the media type) and the options as fields.
 */
export class Gateway {
  private readonly server: Server
  private readonly target: GatewayTarget
  private readonly log: Logger
  private readonly sparql?: SparqlTarget
  private readonly fusion?: Pick<FusionTarget, 'fuse'>
  private address?: AddressInfo

  constructor (target: GatewayTarget, log: Logger, sparql?: SparqlTarget, fusion?: Pick<FusionTarget, 'fuse'>) {
    this.target = target
    this.log = log
    if (sparql != null) this.sparql = sparql
    if (fusion != null) this.fusion = fusion
    this.server = createServer((req, res) => { void this.handle(req, res) })
    this.server.keepAliveTimeout = 30_000
  }

  get url (): string | undefined {
    if (this.address == null) return undefined
    return `http://${urlHost(this.address)}:${this.address.port}`
  }

  async listen (hostPort: string): Promise<void> {
    this.address = await listenOn(this.server, hostPort).catch((err: Error) => {
      throw new ListenError(`gateway cannot listen on ${hostPort}: ${err.message}`)
    })
  }

  async close (): Promise<void> {
    if (this.address == null) return
    this.address = undefined
    await closeServer(this.server)
  }

  private async fuse (task: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = String(req.headers['content-type'] ?? '')
    const body = await readBody(req, MAX_FUSE_BODY)
    let answer
    if (type.startsWith('multipart/form-data')) {
      const { inputs, fields } = await inputsFromMultipart(type, body)
      const options: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(fields)) {
        if (k === 'deadlineMs') options[k] = Number(v)
        else if (k === 'useContext' || k === 'hedge') options[k] = v === 'true'
        else options[k] = v
      }
      answer = await this.fusion!.fuse(task, inputs, fuseOptionsFrom(options))
    } else {
      let json: any
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch (err: any) {
        throw new InvalidRequestError(`body is neither multipart/form-data nor JSON: ${err.message}`)
      }
      if (json == null || typeof json !== 'object') throw new InvalidRequestError('body must be a JSON object')
      answer = await this.fusion!.fuse(task, inputsFrom(json.inputs), fuseOptionsFrom(json))
    }
    const text = JSON.stringify(answer)
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!
      if (path === '/sparql' && this.sparql != null) {
        await serveSparql(req, res, new URL(req.url ?? '/', 'http://gateway'), this.sparql)
        return
      }
      const fuse = FUSE_PATH.exec(path)
      if (fuse != null && this.fusion != null) {
        if (req.method !== 'POST') throw new MethodNotAllowedError(`${req.method ?? ''} not allowed: use POST`)
        await this.fuse(decodeURIComponent(fuse[1]!), req, res)
        return
      }
      const match = PATH.exec(path)
      if (match == null) throw new NotFoundError(`the gateway serves POST /svc/<service>/<fn>${this.sparql != null ? ', GET|POST /sparql' : ''}${this.fusion != null ? ', POST /fuse/<task>' : ''}`)
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
