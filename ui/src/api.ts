/** The control API, from the console's own origin (the daemon serves both). */
export const API = '/api/v1'

const TOKEN_KEY = 'noodled.token'

/** The API token, kept for this tab only: writes need it, reads do not. */
export function token (): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken (value: string | null): void {
  if (value == null || value === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, value)
}

export class ApiError extends Error {
  constructor (readonly status: number, name: string, message: string) {
    super(message)
    this.name = name
  }
}

export async function api<T> (path: string, init: { method?: string, body?: unknown, signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  const t = token()
  if (t != null) headers.authorization = `Bearer ${t}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${API}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal != null ? { signal: init.signal } : {})
  })
  const text = await res.text()
  const value = text === '' ? undefined : JSON.parse(text)
  if (!res.ok) {
    const e = (value as { error?: { name?: string, message?: string } } | undefined)?.error
    throw new ApiError(res.status, e?.name ?? 'Error', e?.message ?? `${res.status} ${res.statusText}`)
  }
  return value as T
}

/**
 * Follow an NDJSON stream (`/events?follow=1`): each line to `onLine`,
 * reconnecting after a break (1 s, doubling to 30 s), until `signal` ends.
 * `onState` hears whether it is connected.
 */
export async function follow (path: string, onLine: (value: unknown) => void, onState: (connected: boolean) => void, signal: AbortSignal): Promise<void> {
  let wait = 1000
  while (!signal.aborted) {
    try {
      const res = await fetch(`${API}${path}`, { signal })
      if (!res.ok || res.body == null) throw new Error(`${res.status}`)
      onState(true)
      wait = 1000
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffered += value
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line !== '') onLine(JSON.parse(line))
        }
      }
    } catch {
      if (signal.aborted) return
    }
    onState(false)
    await new Promise(resolve => setTimeout(resolve, wait))
    wait = Math.min(30_000, wait * 2)
  }
}
