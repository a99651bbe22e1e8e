import { Agent, request } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { NoHandlerError, PayloadTooLargeError, ServiceEndpointError, serviceError } from '../interface/errors.js'
import { SocketEndpoint } from './socket-endpoint.js'

/** One invocation as a handler sees it. */
export interface Invocation {
  service: string
  fn: string
  payload: Uint8Array
  /** aborted when the call's deadline passes (or the daemon stops): stop working then */
  signal: AbortSignal
  /** ms left until the deadline when the handler was called */
  timeoutMs: number
  /**
   * Set by a handler that holds something to let go of when the call ends
   * early (deadline, the caller's cancel, the daemon stopping): called once,
   * before the caller is answered. Cheaper than reading `signal`, which
   * makes an AbortSignal for the call.
   */
  onAbort?: (reason: Error) => void
}

export type Handler = ((call: Invocation) => Promise<Uint8Array>) & {
  /** let go of what the handler holds open (a connection to its endpoint); the server calls it when it stops */
  close?: () => void
}

/**
 * How this daemon serves a service it hosts: an endpoint of an external
 * process (HTTP, or the RPC frames on a Unix or TCP socket), a built-in, or
 * a module the runtime runs.
 */
export type LocalEndpoint = { kind: 'http', url: string } | { kind: 'socket', url: string } | { kind: 'builtin', name: string } | { kind: 'module', handler: Handler }

/** Built-in endpoints (`builtin:<name>`), served inside the daemon. */
export const BUILTIN_HANDLERS: Record<string, Handler> = {
  /** answers with its input: checks and benchmarks the mesh path without an external process */
  echo: async (call) => call.payload
}

/** Error bodies an external service may send: `{ "error": { "name", "message" } }`, as the control API does. */
function errorFromBody (status: number, text: string): Error {
  try {
    const body = JSON.parse(text)
    const e = body?.error
    if (e != null && typeof e.name === 'string' && typeof e.message === 'string') return serviceError(e.name, e.message)
  } catch {
    // not JSON: the status and the start of the text say enough
  }
  return new ServiceEndpointError(`endpoint answered HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`)
}

/** Idle keep-alive connections to one endpoint are closed after this long. */
const ENDPOINT_IDLE_MS = 30_000

/**
 * Forward invocations to an external process: `POST <endpoint>/<fn>` with the
 * payload as the body and the time left in `x-noodle-timeout-ms`; a 2xx
 * answer's body is the result, anything else an error (named by the
 * process's JSON error body when it sends one).
 *
 * Over node:http with a keep-alive agent per endpoint (connections reused,
 * as many as calls in flight), not fetch: fetch's WHATWG request, headers,
 * response and body stream objects, and the AbortSignal it needed per call,
 * held the path through the gateway to an external echo to 4.4-4.7k calls/s
 * against 19-20k to the built-in echo. No timer of its own: the server's
 * deadline ends the request through `onAbort`, as a cancel does.
 */
export function httpHandler (endpoint: string, maxBytes: number): Handler {
  const base = new URL(endpoint.endsWith('/') ? endpoint : `${endpoint}/`)
  const secure = base.protocol === 'https:'
  const agent = secure ? new HttpsAgent({ keepAlive: true, timeout: ENDPOINT_IDLE_MS }) : new Agent({ keepAlive: true, timeout: ENDPOINT_IDLE_MS })
  const send = secure ? httpsRequest : request
  const target = { hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port === '' ? (secure ? 443 : 80) : Number(base.port) }
  return (call) => new Promise<Uint8Array>((resolve, reject) => {
    let settled = false
    const done = (err: Error | undefined, result?: Uint8Array): void => {
      if (settled) return
      settled = true
      if (err != null) reject(err)
      else resolve(result!)
    }
    const req = send({
      ...target,
      path: `${base.pathname}${encodeURIComponent(call.fn)}`,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': call.payload.byteLength, 'x-noodle-timeout-ms': String(call.timeoutMs), 'x-noodle-service': call.service }
    }, (res) => {
      const status = res.statusCode ?? 0
      const ok = status >= 200 && status < 300
      // an error's body is read for its name and message only
      const limit = ok ? maxBytes : 64 * 1024
      const declared = Number(res.headers['content-length'] ?? -1)
      if (ok && declared > limit) {
        res.destroy()
        done(new PayloadTooLargeError(`response of ${declared} bytes exceeds the ${limit} byte limit`))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength
        if (size > limit) {
          res.destroy()
          if (ok) done(new PayloadTooLargeError(`response exceeds the ${limit} byte limit`))
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
        if (ok) done(undefined, body)
        else done(errorFromBody(status, body.toString('utf8')))
      })
      res.on('error', (err) => { done(new ServiceEndpointError(`endpoint ${endpoint} broke off its answer: ${err.message}`)) })
    })
    req.on('error', (err: any) => { done(new ServiceEndpointError(`endpoint ${endpoint} unreachable: ${err.message}`)) })
    // the deadline, the caller's cancel, the daemon stopping (the server calls this, then answers the
    // caller): the endpoint sees its request's connection close
    call.onAbort = (reason) => {
      done(reason)
      req.destroy()
    }
    req.end(call.payload)
  })
}

/** The handler for a local endpoint. */
export function handlerFor (endpoint: LocalEndpoint, maxBytes: number): Handler {
  if (endpoint.kind === 'module') return endpoint.handler
  if (endpoint.kind === 'http') return httpHandler(endpoint.url, maxBytes)
  if (endpoint.kind === 'socket') {
    const socket = new SocketEndpoint(endpoint.url, maxBytes)
    return Object.assign(socket.call, { close: () => { socket.close() } })
  }
  const builtin = BUILTIN_HANDLERS[endpoint.name]
  if (builtin == null) throw new NoHandlerError(`no built-in endpoint "${endpoint.name}"`)
  return builtin
}
