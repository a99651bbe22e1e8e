import { NoHandlerError, PayloadTooLargeError, ServiceEndpointError } from '../interface/errors.js'

/** One invocation as a handler sees it. */
export interface Invocation {
  service: string
  fn: string
  payload: Uint8Array
  /** aborted when the call's deadline passes (or the daemon stops): stop working then */
  signal: AbortSignal
  /** ms left until the deadline when the handler was called */
  timeoutMs: number
}

export type Handler = (call: Invocation) => Promise<Uint8Array>

/** How this daemon serves a service it hosts: an endpoint of an external process, a built-in, or a module the runtime runs. */
export type LocalEndpoint = { kind: 'http', url: string } | { kind: 'builtin', name: string } | { kind: 'module', handler: Handler }

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
    if (e != null && typeof e.name === 'string' && typeof e.message === 'string') {
      const err = new Error(e.message.slice(0, 1024))
      err.name = e.name.slice(0, 128)
      return err
    }
  } catch {
    // not JSON: the status and the start of the text say enough
  }
  return new ServiceEndpointError(`endpoint answered HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`)
}

/** Read a fetch response body of at most `limit` bytes. */
async function readLimited (res: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? -1)
  if (declared > limit) {
    await res.body?.cancel()
    throw new PayloadTooLargeError(`response of ${declared} bytes exceeds the ${limit} byte limit`)
  }
  if (res.body == null) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += chunk.byteLength
    if (size > limit) {
      await res.body.cancel().catch(() => {})
      throw new PayloadTooLargeError(`response exceeds the ${limit} byte limit`)
    }
    chunks.push(chunk)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * Forward invocations to an external process: `POST <endpoint>/<fn>` with the
 * payload as the body and the time left in `x-noodle-timeout-ms`; a 2xx
 * answer's body is the result, anything else an error (named by the
 * process's JSON error body when it sends one).
 */
export function httpHandler (endpoint: string, maxBytes: number): Handler {
  const base = endpoint.endsWith('/') ? endpoint : `${endpoint}/`
  return async (call) => {
    const url = new URL(encodeURIComponent(call.fn), base)
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        body: call.payload,
        headers: { 'content-type': 'application/octet-stream', 'x-noodle-timeout-ms': String(call.timeoutMs), 'x-noodle-service': call.service },
        signal: call.signal
      })
    } catch (err: any) {
      if (call.signal.aborted) throw err
      throw new ServiceEndpointError(`endpoint ${endpoint} unreachable: ${err.cause?.message ?? err.message}`)
    }
    if (res.status >= 200 && res.status < 300) return await readLimited(res, maxBytes)
    const text = new TextDecoder().decode(await readLimited(res, 64 * 1024).catch(() => new Uint8Array(0)))
    throw errorFromBody(res.status, text)
  }
}

/** The handler for a local endpoint. */
export function handlerFor (endpoint: LocalEndpoint, maxBytes: number): Handler {
  if (endpoint.kind === 'module') return endpoint.handler
  if (endpoint.kind === 'http') return httpHandler(endpoint.url, maxBytes)
  const builtin = BUILTIN_HANDLERS[endpoint.name]
  if (builtin == null) throw new NoHandlerError(`no built-in endpoint "${endpoint.name}"`)
  return builtin
}
