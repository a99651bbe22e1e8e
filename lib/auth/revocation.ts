import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { signatureValid } from '../signature.js'
import type { PrivateKey } from '@libp2p/interface'
import { base58btc } from 'multiformats/bases/base58'
import { z } from 'zod'
import { InvalidTokenError } from '../interface/errors.js'
import { firstIssue } from '../validation.js'
import { didFromPublicKey, isDid } from './did.js'

/**
 * A revocation, as in the UCAN revocation spec: the id (CID) of a
 * delegation, signed by a principal. It takes effect where its signer
 * issued the revoked delegation or one it rests on, or is an operator (the
 * verifier checks that against each chain; see Authority.verify).
 */
export const revocationSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(8).max(128).regex(/^[a-z2-7]+$/),
  by: z.string().max(128).refine(isDid, { error: 'not an Ed25519 did:key' }),
  /** epoch ms, informational */
  at: z.number().int().min(0),
  sig: z.string().max(128)
})

export type Revocation = z.output<typeof revocationSchema>

function signedText (id: string, at: number): Uint8Array {
  return new TextEncoder().encode(`noodle-revoke-v1:${id}:${at}`)
}

export async function signRevocation (id: string, key: PrivateKey): Promise<Revocation> {
  const at = Date.now()
  const sig = await key.sign(signedText(id, at))
  return { v: 1, id, by: didFromPublicKey(key.publicKey.raw), at, sig: Buffer.from(sig).toString('base64url') }
}

/** Parse and check the signature; throws InvalidTokenError. */
export async function verifyRevocation (value: unknown): Promise<Revocation> {
  const parsed = revocationSchema.safeParse(value)
  if (!parsed.success) throw new InvalidTokenError(`malformed revocation: ${firstIssue(parsed.error).message}`)
  const r = parsed.data
  // isDid checked the multicodec prefix: the rest is the raw Ed25519 public key
  const key = publicKeyFromRaw(base58btc.decode(r.by.slice('did:key:'.length)).subarray(2))
  const ok = await signatureValid(key, signedText(r.id, r.at), Buffer.from(r.sig, 'base64url'))
  if (!ok) throw new InvalidTokenError(`revocation of ${r.id} is not signed by ${r.by}`)
  return r
}
