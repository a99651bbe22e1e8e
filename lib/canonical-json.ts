import { createHash } from 'node:crypto'

/** JSON with object keys sorted and undefined members left out: the same value gives the same text. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(v => v === undefined ? 'null' : canonicalJson(v)).join(',')}]`
  const keys = Object.keys(value).filter(k => (value as Record<string, unknown>)[k] !== undefined).sort()
  return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
}

/** What an invocation binds: sha256 of the canonical JSON, base64url. */
export function digestOf (value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url')
}
