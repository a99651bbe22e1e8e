import type { z } from 'zod'
import { MalformedMessageError } from './interface/errors.js'
import { firstIssue } from './validation.js'

/**
 * The JSON codec of every JSON wire message (membership, catalogs, sync
 * pulls, status): UTF-8 JSON out, and in through a zod schema so that a
 * peer's bytes are never used before they are checked.
 */
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeJson (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/**
 * Parse and validate a JSON message from a peer. Whatever is wrong with it
 * (not UTF-8, not JSON, not the shape) is a MalformedMessageError.
 */
export function decodeJson<T> (schema: z.ZodType<T>, data: Uint8Array): T {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch (err: any) {
    throw new MalformedMessageError(`not a JSON message: ${err.message}`)
  }
  const result = schema.safeParse(value)
  if (!result.success) throw new MalformedMessageError(`malformed message: ${firstIssue(result.error).message}`)
  return result.data
}
