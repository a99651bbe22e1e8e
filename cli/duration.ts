import { InvalidRequestError } from '../lib/interface/errors.js'

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/**
 * "500ms", "5s", "2m", "1h", or a bare number of milliseconds. (The `ms`
 * package parses more forms; these four are all the CLI's options take.)
 */
export function parseDurationMs (text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (match == null) throw new InvalidRequestError(`${option} must be a duration like 500ms, 5s, 2m or 1h, got ${JSON.stringify(text)}`)
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!)
}
