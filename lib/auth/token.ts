import { Delegation } from '@ucanto/core'
import type { Delegation as DelegationView, Capabilities } from '@ucanto/interface'
import { InvalidTokenError } from '../interface/errors.js'

/** A token with its whole proof chain; more is refused before it is parsed. */
export const MAX_TOKEN_BYTES = 16 * 1024

export type Token = DelegationView<Capabilities>

/** A delegation and its proofs as one base64url string (a UCAN CAR archive). */
export async function encodeToken (token: Token): Promise<string> {
  const archived = await token.archive()
  if (archived.error != null) throw new InvalidTokenError(`cannot archive token: ${archived.error.message}`)
  if (archived.ok.byteLength > MAX_TOKEN_BYTES) throw new InvalidTokenError(`token of ${archived.ok.byteLength} bytes, more than ${MAX_TOKEN_BYTES} (a proof chain too long?)`)
  return Buffer.from(archived.ok).toString('base64url')
}

export async function decodeToken (text: string): Promise<Token> {
  if (typeof text !== 'string' || text.length === 0) throw new InvalidTokenError('empty token')
  if (text.length > Math.ceil(MAX_TOKEN_BYTES * 4 / 3)) throw new InvalidTokenError(`token longer than ${MAX_TOKEN_BYTES} bytes`)
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new InvalidTokenError('a token is base64url')
  let extracted
  try {
    extracted = await Delegation.extract(Buffer.from(text, 'base64url'))
  } catch (err: any) {
    throw new InvalidTokenError(`not a UCAN archive: ${err.message}`)
  }
  if (extracted.error != null) throw new InvalidTokenError(`not a UCAN archive: ${extracted.error.message}`)
  // ucanto parses fields lazily: read every one now, so a malformed token is refused here by name
  // and not later, deep in a check, with a ParseError (found by fuzzing)
  try {
    for (const t of chain(extracted.ok)) {
      void t.issuer.did()
      void t.audience.did()
      void t.expiration
      void t.notBefore
      for (const c of t.capabilities) void [c.can, c.with, c.nb]
    }
  } catch (err: any) {
    throw new InvalidTokenError(`malformed UCAN: ${err.message}`)
  }
  return extracted.ok
}

export interface TokenSummary {
  id: string
  issuer: string
  audience: string
  capabilities: Array<{ can: string, with: string }>
  /** epoch ms; absent: never */
  expiresAt?: number
  /** the ids of the delegations it rests on, nearest first */
  proofs: string[]
}

export function summarize (token: Token): TokenSummary {
  return {
    id: token.cid.toString(),
    issuer: token.issuer.did(),
    audience: token.audience.did(),
    capabilities: token.capabilities.map(c => ({ can: c.can, with: c.with })),
    ...(Number.isFinite(token.expiration) ? { expiresAt: token.expiration * 1000 } : {}),
    proofs: token.proofs.map(p => 'cid' in p ? p.cid.toString() : String(p))
  }
}

/** Every delegation a token rests on, itself first. */
export function * chain (token: Token): Generator<Token> {
  yield token
  for (const p of token.proofs) if ('cid' in p && 'issuer' in p) yield * chain(p as Token)
}
