import { CapabilityDeniedError, ModuleLimitError } from '../interface/errors.js'
import type { CurrentCall } from './host.js'
import { timeoutSignal } from '../signals.js'

/** The largest HTTP response body a module gets; more fails its request. */
export const MAX_HTTP_RESPONSE_BYTES = 4 * 1024 * 1024

/**
 * The `fetch` Extism's `http_request` uses for one instance: the URL's host
 * must match one of the grant's `hosts` (else CapabilityDeniedError). Redirects are
 * not followed: a 3xx is handed to the module as it is, since following it
 * could lead to a host the grant does not name. The request ends with the
 * module's call (its deadline, or the call abandoned), and a response body
 * over MAX_HTTP_RESPONSE_BYTES is refused rather than buffered.
 */
export function guardedFetch (hosts: string[], current: () => CurrentCall | undefined, maxBytes = MAX_HTTP_RESPONSE_BYTES): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(String(input))
    if (!hostAllowed(url, hosts)) throw new CapabilityDeniedError(`HTTP request to "${url.origin}" is not allowed (no allowedHosts match "${url.host}")`)
    const call = current()
    const signal = call?.signal ?? timeoutSignal(30_000)
    const response = await fetch(input, { ...init, redirect: 'manual', signal })
    const length = Number(response.headers.get('content-length') ?? NaN)
    if (length > maxBytes) {
      await response.body?.cancel()
      throw new ModuleLimitError(`HTTP response of ${length} bytes from ${String(input)} exceeds the ${maxBytes} byte limit`)
    }
    // read it ourselves, counting: content-length may be absent or wrong
    const chunks: Uint8Array[] = []
    let total = 0
    const reader = response.body?.getReader()
    while (reader != null) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      if (total > maxBytes) {
        await reader.cancel().catch(() => {})
        throw new ModuleLimitError(`HTTP response from ${String(input)} exceeds the ${maxBytes} byte limit`)
      }
      chunks.push(value)
    }
    const body = new Uint8Array(total)
    let at = 0
    for (const c of chunks) { body.set(c, at); at += c.byteLength }
    return new Response(response.status === 204 || response.status === 304 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
}

/**
 * Grant patterns (`api.example.com`, `*.example.com`, either with `:port`)
 * against a URL: a pattern with a port matches that port only.
 */
export function hostAllowed (url: URL, patterns: string[]): boolean {
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80'
  return patterns.some(p => {
    const i = p.lastIndexOf(':')
    const [host, want] = i > 0 && /^\d+$/.test(p.slice(i + 1)) ? [p.slice(0, i), p.slice(i + 1)] : [p, undefined]
    if (want != null && want !== port) return false
    return host === '*' || host === url.hostname || (host.startsWith('*.') && url.hostname.endsWith(host.slice(1)))
  })
}

