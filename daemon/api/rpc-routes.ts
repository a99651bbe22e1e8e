import { API_PREFIX, type CallResponse, type RpcStatsView } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import type { CallOptions, CallResult } from '../../lib/rpc/index.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'

/** What the call endpoints need (the Rpc service provides it). */
export interface RpcTarget {
  readonly maxMessageBytes: number
  call: (service: string, fn: string, payload: Uint8Array, options: CallOptions) => Promise<CallResult>
  stats: () => RpcStatsView
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function text (bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

function input (body: Record<string, unknown>): Uint8Array {
  if (body.input != null && body.inputBase64 != null) throw new InvalidRequestError('give "input" or "inputBase64", not both')
  if (body.inputBase64 != null) {
    if (typeof body.inputBase64 !== 'string') throw new InvalidRequestError('"inputBase64" must be a string')
    return Buffer.from(body.inputBase64, 'base64')
  }
  if (body.input != null && typeof body.input !== 'string') throw new InvalidRequestError('"input" must be a string')
  return new TextEncoder().encode((body.input as string | undefined) ?? '')
}

export function rpcRoutes (target: RpcTarget): Routes {
  const p = API_PREFIX
  return {
    [`POST ${p}/call`]: async (req) => {
      // base64 in JSON: 4/3 of the payload limit, and room for the rest
      const body = await readJson(req, Math.ceil(target.maxMessageBytes * 4 / 3) + 64 * 1024)
      const { service, fn, timeoutMs, idempotent } = body
      if (typeof service !== 'string' || service === '') throw new InvalidRequestError('"service" must be a non-empty string')
      if (typeof fn !== 'string' || fn === '') throw new InvalidRequestError('"fn" must be a non-empty string')
      if (timeoutMs != null && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1)) throw new InvalidRequestError('"timeoutMs" must be a positive integer')
      if (idempotent != null && typeof idempotent !== 'boolean') throw new InvalidRequestError('"idempotent" must be a boolean')
      const result = await target.call(service, fn, input(body), {
        ...(timeoutMs != null ? { timeoutMs: timeoutMs as number } : {}),
        idempotent: idempotent === true
      })
      const output = text(result.payload)
      const res: CallResponse = {
        service,
        fn,
        instance: result.instance,
        attempts: result.attempts,
        elapsedMs: result.elapsedMs,
        ...(output != null ? { output } : {}),
        outputBase64: Buffer.from(result.payload).toString('base64')
      }
      return { body: res }
    },
    [`GET ${p}/rpc/stats`]: async () => ({ body: target.stats() })
  }
}
