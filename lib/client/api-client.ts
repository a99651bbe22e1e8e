import { request, type RequestOptions as RequestOptionsHttp } from 'node:http'
import type { AuditEntry, AuditVerification } from '../audit/log.js'
import type { Revocation, TokenSummary } from '../auth/index.js'
import { timeoutSignal } from '../signals.js'
import type { CalibrationReport, FuseAnswer, FusionRecord, FusionStats, FusionTask, ProcessorDescriptor } from '../fusion/index.js'

export interface AuthView {
  did: string
  operators: string[]
  /** this repo holds an operator key */
  operator: boolean
  enforcing: boolean
  held: Array<TokenSummary & { revoked: boolean }>
  issued: Array<TokenSummary & { revoked: boolean }>
  revoked: Revocation[]
  counters: { denied: number, accepted: number, revocationsRejected: number }
}
import { API_PREFIX, type CallRequest, type CallResponse, type RpcStatsView, type DeployResultView, type ExternalServiceView, type ResolveView, type PlacementExplanationView, type ServiceStatusView, type LabelsResponse, type MemberEventView, type MembershipStats, type MemberView, type ConnectResponse, type HealthResponse, type IdResponse, type PeerEntry, type ShutdownResponse, type StatusResponse, type ModuleListView, type ModuleResolutionView, type ModuleGcView, type ModuleInfoView, type PublishedModuleView, type ModuleFetchEvent, type ModuleFetchProgressView, type ModuleFetchView, type RuntimeOwnerView, type RuntimeServiceView } from '../interface/api.js'
import { DaemonNotRunningError, InvalidRequestError, TimeoutError, errorFromWire } from '../interface/errors.js'
import type { AboutView, GraphVersion } from '../knowledge/graph-store.js'
import type { KnowledgeQueryResult, KnowledgeStats, MeshGraphView } from '../knowledge/knowledge.js'
import type { Extraction } from '../knowledge/extract.js'

export interface ApiClientInit {
  /** path of the daemon's `api.sock` */
  socketPath: string
  /** instead of the socket: the daemon's TCP control API (`http://HOST:PORT`), with its bearer token */
  url?: string
  token?: string
  /** named in "daemon not running" errors */
  repo: string
  /** @default 30_000 */
  timeoutMs?: number
}

export interface RequestOptions {
  signal?: AbortSignal
}

/** Cap on a control API response; they are small JSON documents or metrics text. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/**
 * Client for the control API on the daemon's Unix socket. Uses only
 * `node:http` so the CLI can load it without libp2p. Error bodies are turned
 * back into the named errors the daemon threw.
 */
export class ApiClient {
  private readonly init: ApiClientInit & { timeoutMs: number }

  constructor (init: ApiClientInit) {
    this.init = { timeoutMs: 30_000, ...init }
  }

  /** Where requests go: the Unix socket, or the TCP listener with the bearer token. */
  private target (): { socketPath: string } | { host: string, port: number, headers: Record<string, string> } {
    if (this.init.url == null) return { socketPath: this.init.socketPath }
    const url = new URL(this.init.url)
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port === '' ? 80 : url.port), headers: this.init.token != null ? { authorization: `Bearer ${this.init.token}` } : {} }
  }

  private options (method: string, path: string, signal: AbortSignal | undefined, payload: Buffer | undefined): RequestOptionsHttp {
    const target = this.target()
    const headers = { ...('headers' in target ? target.headers : {}), ...(payload != null ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) }
    const { headers: _h, ...where } = target as { headers?: unknown }
    // servername is TLS's (SNI), and plain HTTP has none: without it Node's agent works one out with
    // net.isIP, whose first call compiles the IPv6 pattern, 2-3 ms of every CLI command's start
    return { ...where, method, path, ...(signal != null ? { signal } : {}), headers, ...({ servername: '' } as object) }
  }

  async id (options: RequestOptions = {}): Promise<IdResponse> {
    return this.json('GET', '/id', undefined, options)
  }

  async status (options: RequestOptions = {}): Promise<StatusResponse> {
    return this.json('GET', '/status', undefined, options)
  }

  async health (options: RequestOptions = {}): Promise<HealthResponse> {
    return this.json('GET', '/health', undefined, options)
  }

  async peers (options: RequestOptions = {}): Promise<PeerEntry[]> {
    return this.json('GET', '/peers', undefined, options)
  }

  async connect (addr: string, options: RequestOptions = {}): Promise<ConnectResponse> {
    return this.json('POST', '/connect', { addr }, options)
  }

  async shutdown (options: RequestOptions = {}): Promise<ShutdownResponse> {
    return this.json('POST', '/shutdown', {}, options)
  }

  /** Members (self included); filters as in `noodled members`. */
  async members (filter: { status?: string[], labels?: string[] } = {}, options: RequestOptions = {}): Promise<MemberView[]> {
    const q = new URLSearchParams()
    for (const s of filter.status ?? []) q.append('status', s)
    for (const l of filter.labels ?? []) q.append('label', l)
    const qs = q.toString()
    return this.json('GET', `/members${qs === '' ? '' : `?${qs}`}`, undefined, options)
  }

  async member (peerId: string, options: RequestOptions = {}): Promise<MemberView> {
    return this.json('GET', `/members/${encodeURIComponent(peerId)}`, undefined, options)
  }

  async membershipStats (options: RequestOptions = {}): Promise<MembershipStats> {
    return this.json('GET', '/membership/stats', undefined, options)
  }

  async labels (options: RequestOptions = {}): Promise<LabelsResponse> {
    return this.json('GET', '/labels', undefined, options)
  }

  async setLabel (key: string, value: string, options: RequestOptions = {}): Promise<LabelsResponse> {
    return this.json('PUT', `/labels/${encodeURIComponent(key)}`, { value }, options)
  }

  async removeLabel (key: string, options: RequestOptions = {}): Promise<LabelsResponse> {
    return this.json('DELETE', `/labels/${encodeURIComponent(key)}`, undefined, options)
  }

  async services (options: RequestOptions = {}): Promise<ServiceStatusView[]> {
    return this.json('GET', '/services', undefined, options)
  }

  async service (name: string, options: RequestOptions = {}): Promise<ServiceStatusView> {
    return this.json('GET', `/services/${encodeURIComponent(name)}`, undefined, options)
  }

  async deploy (spec: unknown, opts: { dryRun?: boolean } = {}, options: RequestOptions = {}): Promise<DeployResultView> {
    return this.json('POST', `/services${opts.dryRun === true ? '?dryRun=1' : ''}`, spec, options)
  }

  async scale (name: string, replicas: number, options: RequestOptions = {}): Promise<DeployResultView> {
    return this.json('POST', `/services/${encodeURIComponent(name)}/scale`, { replicas }, options)
  }

  async removeService (name: string, options: RequestOptions = {}): Promise<{ name: string, deleted: boolean }> {
    return this.json('DELETE', `/services/${encodeURIComponent(name)}`, undefined, options)
  }

  async explainPlacement (name: string, options: RequestOptions = {}): Promise<PlacementExplanationView> {
    return this.json('GET', `/placement/${encodeURIComponent(name)}`, undefined, options)
  }

  async resolve (name: string, options: RequestOptions = {}): Promise<ResolveView> {
    return this.json('GET', `/resolve/${encodeURIComponent(name)}`, undefined, options)
  }

  async externalServices (options: RequestOptions = {}): Promise<ExternalServiceView[]> {
    return this.json('GET', '/external', undefined, options)
  }

  async registerExternal (registration: unknown, options: RequestOptions = {}): Promise<ExternalServiceView> {
    return this.json('POST', '/external', registration, options)
  }

  async deregisterExternal (name: string, options: RequestOptions = {}): Promise<{ name: string, deregistered: boolean }> {
    return this.json('DELETE', `/external/${encodeURIComponent(name)}`, undefined, options)
  }

  async passCheck (name: string, note?: string, options: RequestOptions = {}): Promise<ExternalServiceView> {
    return this.json('POST', `/external/${encodeURIComponent(name)}/pass`, note != null ? { note } : {}, options)
  }

  /** One mesh call through the daemon (`noodled call`). */
  async call (req: CallRequest, options: RequestOptions = {}): Promise<CallResponse> {
    return this.json('POST', '/call', req, options)
  }

  async rpcStats (options: RequestOptions = {}): Promise<RpcStatsView> {
    return this.json('GET', '/rpc/stats', undefined, options)
  }

  async events (options: RequestOptions = {}): Promise<MemberEventView[]> {
    return this.json('GET', '/events', undefined, options)
  }

  /**
   * Follow the member event stream (history first). Resolves when the daemon
   * ends the stream or `signal` aborts.
   */
  async followEvents (onEvent: (event: MemberEventView) => void, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.ndjson('GET', '/events?follow=1', undefined, (line) => { onEvent(line as MemberEventView) }, options)
  }

  /**
   * Fetch a module and its dependencies onto the daemon from peers
   * (`module fetch`); `onProgress` hears of blocks as they arrive.
   */
  async fetchModule (ref: string, opts: { prerelease?: boolean, onProgress?: (progress: ModuleFetchProgressView) => void } = {}, options: RequestOptions = {}): Promise<ModuleFetchView> {
    let outcome: ModuleFetchView | Error | undefined
    await this.ndjson('POST', `/modules/${encodeURIComponent(ref)}/fetch${opts.prerelease === true ? '?prerelease=1' : ''}`, {}, (line) => {
      const event = line as ModuleFetchEvent
      if (event.type === 'progress') opts.onProgress?.(event.progress)
      else if (event.type === 'done') outcome = event.result
      else if (event.type === 'error') outcome = errorFromWire(event.error, 200)
    }, options)
    if (outcome == null) throw new InvalidRequestError('the daemon ended the fetch without a result')
    if (outcome instanceof Error) throw outcome
    return outcome
  }

  /**
   * A request answered with newline-delimited JSON: `onLine` gets each value
   * as it arrives. Resolves when the daemon ends the answer, or quietly when
   * `signal` aborts; a non-2xx answer is thrown as its named error.
   */
  private async ndjson (method: string, path: string, body: unknown, onLine: (value: unknown) => void, options: RequestOptions): Promise<void> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    await new Promise<void>((resolve, reject) => {
      const req = request(this.options(method, API_PREFIX + path, options.signal, payload), (res) => {
        if (res.statusCode !== 200) {
          // an error before the stream began: a JSON error body
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => { if (text.length < 64 * 1024) text += chunk })
          res.on('end', () => {
            let wire: { error?: { name?: unknown, message?: unknown } } = {}
            try { wire = JSON.parse(text) } catch {}
            reject(errorFromWire(wire.error ?? {}, res.statusCode ?? 0))
          })
          return
        }
        let buffer = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buffer += chunk
          let nl: number
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl)
            buffer = buffer.slice(nl + 1)
            if (line.trim() === '') continue
            try {
              onLine(JSON.parse(line))
            } catch (err) {
              req.destroy(err as Error)
              return
            }
          }
        })
        res.on('end', () => { resolve() })
        res.on('error', (err) => { if (options.signal?.aborted === true) resolve(); else reject(err) })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (options.signal?.aborted === true) resolve()
        else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') reject(new DaemonNotRunningError(this.init.repo))
        else reject(err)
      })
      req.end(payload)
    })
  }

  async metrics (options: RequestOptions = {}): Promise<string> {
    const res = await this.request('GET', '/metrics', undefined, options)
    return res.body
  }

  async publishModule (manifest: unknown, wasm: Uint8Array, options: RequestOptions = {}): Promise<PublishedModuleView> {
    return await this.json('POST', '/modules', { manifest, wasm: Buffer.from(wasm).toString('base64') }, options)
  }

  async modules (options: RequestOptions = {}): Promise<ModuleListView[]> {
    return await this.json('GET', '/modules', undefined, options)
  }

  async resolveModule (ref: string, opts: { prerelease?: boolean } = {}, options: RequestOptions = {}): Promise<ModuleResolutionView> {
    return await this.json('GET', `/module-resolve/${encodeURIComponent(ref)}${opts.prerelease === true ? '?prerelease=1' : ''}`, undefined, options)
  }

  async moduleInfo (ref: string, options: RequestOptions = {}): Promise<ModuleInfoView> {
    return await this.json('GET', `/modules/${encodeURIComponent(ref)}`, undefined, options)
  }

  async pinModule (ref: string, pin: boolean, options: RequestOptions = {}): Promise<ModuleInfoView> {
    return await this.json('POST', `/modules/${encodeURIComponent(ref)}/${pin ? 'pin' : 'unpin'}`, {}, options)
  }

  /** Module services this daemon runs. */
  async runtime (options: RequestOptions = {}): Promise<RuntimeServiceView[]> {
    return await this.json('GET', '/runtime', undefined, options)
  }

  /** Every owner's view of a module service: what it runs, and its history of versions. */
  async runtimeHistory (service: string, options: RequestOptions = {}): Promise<RuntimeOwnerView[]> {
    return await this.json('GET', `/runtime/${encodeURIComponent(service)}`, undefined, options)
  }

  /** This node's capability tokens: held, issued, revoked, and the operators it trusts. */
  async auth (options: RequestOptions = {}): Promise<AuthView> {
    return await this.json('GET', '/auth', undefined, options)
  }

  async delegate (input: { to: string, can: string, with: string, ttlMs?: number }, options: RequestOptions = {}): Promise<{ token: string, summary: TokenSummary }> {
    return await this.json('POST', '/auth/delegate', input, options)
  }

  async addToken (token: string, options: RequestOptions = {}): Promise<TokenSummary> {
    return await this.json('POST', '/auth/tokens', { token }, options)
  }

  async revoke (id: string, options: RequestOptions = {}): Promise<Revocation> {
    return await this.json('POST', '/auth/revoke', { id }, options)
  }

  async audit (limit?: number, options: RequestOptions = {}): Promise<AuditEntry[]> {
    return await this.json('GET', `/audit${limit != null ? `?limit=${limit}` : ''}`, undefined, options)
  }

  async auditVerify (options: RequestOptions = {}): Promise<AuditVerification> {
    return await this.json('GET', '/audit/verify', undefined, options)
  }

  async moduleGc (options: RequestOptions = {}): Promise<ModuleGcView> {
    return await this.json('POST', '/modules/gc', {}, options)
  }

  /** The knowledge graphs this daemon holds. */
  async kgGraphs (options: RequestOptions = {}): Promise<GraphVersion[]> {
    return await this.json('GET', '/kg/graphs', undefined, options)
  }

  /** The knowledge service's counters: catalog size, replicas held, refusals. */
  async kgStats (options: RequestOptions = {}): Promise<KnowledgeStats> {
    return await this.json('GET', '/kg/stats', undefined, options)
  }

  /** Every graph of the mesh, from this daemon's catalog: owner, version, holders. */
  async kgMeshGraphs (options: RequestOptions = {}): Promise<MeshGraphView[]> {
    return await this.json('GET', '/kg/graphs?scope=mesh', undefined, options)
  }

  /** Add RDF to graph `name` of this daemon; resolves once the new version is on disk. */
  async kgAdd (name: string, data: string, body: { format?: string, baseIri?: string } = {}, options: RequestOptions = {}): Promise<GraphVersion & { added: number }> {
    return await this.json('POST', `/kg/graphs/${encodeURIComponent(name)}`, { data, ...body }, options)
  }

  /** Add what the daemon's analyzer finds in `text` (entities, relations, provenance) to graph `name`. */
  async kgAddText (name: string, text: string, source?: string, options: RequestOptions & { analyzer?: string } = {}): Promise<GraphVersion & { added: number, item: string, extraction: Extraction, analyzer: { name: string, version: string } }> {
    const { analyzer, ...rest } = options
    return await this.json('POST', `/kg/graphs/${encodeURIComponent(name)}`, { text, ...(source != null ? { source } : {}), ...(analyzer != null ? { analyzer } : {}) }, rest)
  }

  /** SPARQL Update on graph `name` of this daemon (and only on it); a new version, durable when this resolves. */
  async kgUpdate (name: string, sparql: string, options: RequestOptions = {}): Promise<GraphVersion & { added: number }> {
    return await this.json('POST', `/kg/graphs/${encodeURIComponent(name)}`, { update: sparql }, options)
  }

  /** What this daemon's graphs say about an entity, by name or IRI, with sources. */
  async kgAbout (nameOrIri: string, options: RequestOptions & { scope?: 'local' | 'mesh' } = {}): Promise<AboutView & { complete?: boolean, sources?: KnowledgeQueryResult['sources'] }> {
    const { scope, ...rest } = options
    return await this.json('GET', `/kg/about?q=${encodeURIComponent(nameOrIri)}${scope != null ? `&scope=${scope}` : ''}`, undefined, rest)
  }

  /** SPARQL over this daemon's graphs: one page of the answer, and whether it is complete. */
  async kgQuery (query: string, body: { scope?: 'local' | 'mesh', limit?: number, offset?: number, timeoutMs?: number } = {}, options: RequestOptions = {}): Promise<KnowledgeQueryResult> {
    return await this.json('POST', '/kg/query', { query, ...body }, options)
  }

  /** Every fusion task of the mesh, with its processors. */
  async fuseTasks (options: RequestOptions = {}): Promise<Array<{ task: FusionTask, processors: ProcessorDescriptor[] }>> {
    return await this.json('GET', '/fuse/tasks', undefined, options)
  }

  async fuseDefineTask (task: Record<string, unknown> & { name: string }, options: RequestOptions = {}): Promise<{ task: FusionTask, updatedAt: string }> {
    const { name, ...rest } = task
    return await this.json('PUT', `/fuse/tasks/${encodeURIComponent(name)}`, rest, options)
  }

  async fuseRegisterProcessor (p: Record<string, unknown> & { task: string, name: string }, options: RequestOptions = {}): Promise<{ processor: ProcessorDescriptor, updatedAt: string }> {
    const { task, name, ...rest } = p
    return await this.json('PUT', `/fuse/tasks/${encodeURIComponent(task)}/processors/${encodeURIComponent(name)}`, rest, options)
  }

  async fuseDeregisterProcessor (task: string, name: string, options: RequestOptions = {}): Promise<{ removed: boolean }> {
    return await this.json('DELETE', `/fuse/tasks/${encodeURIComponent(task)}/processors/${encodeURIComponent(name)}`, undefined, options)
  }

  /** Fuse one input: `inputs` in base64, and the call's options. */
  async fuse (task: string, body: { inputs: Array<{ modality: string, mediaType: string, dataBase64: string }>, deadlineMs?: number, rule?: string, context?: string, useContext?: boolean, hedge?: boolean, detail?: boolean }, options: RequestOptions = {}): Promise<FuseAnswer> {
    return await this.json('POST', `/fuse/tasks/${encodeURIComponent(task)}`, body, options)
  }

  async fuseCalibrate (task: string, items: Array<{ label: string, inputs: Array<{ modality: string, mediaType: string, dataBase64: string }>, previous?: string, context?: string }>, options: RequestOptions = {}): Promise<CalibrationReport> {
    return await this.json('POST', `/fuse/tasks/${encodeURIComponent(task)}/calibrate`, { items }, options)
  }

  /** How a fusion was reached (its PROV-O record). */
  async fuseExplain (id: string, options: RequestOptions = {}): Promise<FusionRecord> {
    return await this.json('GET', `/fuse/decisions/${encodeURIComponent(id)}`, undefined, options)
  }

  async fuseStats (options: RequestOptions = {}): Promise<FusionStats> {
    return await this.json('GET', '/fuse/stats', undefined, options)
  }

  private async json<T> (method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
    const res = await this.request(method, API_PREFIX + path, body, options)
    try {
      return JSON.parse(res.body) as T
    } catch {
      throw new InvalidRequestError(`daemon sent a response that is not JSON (HTTP ${res.status})`)
    }
  }

  /** Raw request; non-2xx answers are thrown as named errors. */
  async request (method: string, path: string, body: unknown, options: RequestOptions = {}): Promise<{ status: number, body: string }> {
    const signal = options.signal ?? timeoutSignal(this.init.timeoutMs)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = request(this.options(method, path, signal, payload), (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new InvalidRequestError(`daemon response exceeds ${MAX_RESPONSE_BYTES} bytes`))
            return
          }
          chunks.push(chunk)
        })
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) {
            resolve({ status, body: text })
            return
          }
          let wire: { error?: { name?: unknown, message?: unknown } } = {}
          try {
            wire = JSON.parse(text)
          } catch {}
          reject(errorFromWire(wire.error ?? {}, status))
        })
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
          reject(new DaemonNotRunningError(this.init.repo))
        } else if (err.name === 'AbortError') {
          reject(new TimeoutError(`daemon at ${this.init.repo} did not answer ${method} ${path} in time`))
        } else {
          reject(err)
        }
      })
      req.end(payload)
    })
  }
}
