import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { concat, fromString, toString } from 'uint8arrays'
import { ForgedAdvertError, MalformedMessageError } from '../interface/errors.js'
import { signatureValid } from '../signature.js'
import { MAX_ADVERT_BYTES } from './constants.js'
import { decodeMessage, type Advert, type Relay } from './wire.js'

/** Domain separation: an advert signature is never a valid signature of anything else this key signs. */
export const ADVERT_SIGNATURE_PREFIX = new TextEncoder().encode('noodled/membership/advert:')

/** An advert in its member's own encoding, signed by the member so that anyone can pass it on. */
export interface SignedAdvert {
  advert: string
  sig: string
}

export async function signAdvert (key: PrivateKey, bytes: Uint8Array): Promise<SignedAdvert> {
  const sig = await key.sign(concat([ADVERT_SIGNATURE_PREFIX, bytes]))
  return { advert: toString(bytes, 'base64url'), sig: toString(sig, 'base64url') }
}

export class OversizedAdvertError extends MalformedMessageError {
  override name = 'OversizedAdvertError'
}

/**
 * The advert inside a relay or a push, checked: its bytes decode to an
 * advert of at most MAX_ADVERT_BYTES, and the signature is by the key of
 * the peer the advert is about (Ed25519 peer ids carry their key).
 * Throws MalformedMessageError (OversizedAdvertError) or ForgedAdvertError.
 */
export async function openSignedAdvert (signed: SignedAdvert | Relay): Promise<Advert> {
  let bytes: Uint8Array
  let sig: Uint8Array
  try {
    bytes = fromString(signed.advert, 'base64url')
    sig = fromString(signed.sig, 'base64url')
  } catch {
    throw new MalformedMessageError('relayed advert or signature is not base64url')
  }
  if (bytes.length > MAX_ADVERT_BYTES) throw new OversizedAdvertError(`relayed advert of ${bytes.length} bytes exceeds ${MAX_ADVERT_BYTES}`)
  const advert = decodeMessage(bytes)
  if (advert.type !== 'advert') throw new MalformedMessageError(`a relay carries an advert, not a ${advert.type}`)
  let key
  try {
    key = peerIdFromString(advert.peerId).publicKey
  } catch {
    throw new MalformedMessageError('relayed advert names no valid peer id')
  }
  if (key == null) throw new ForgedAdvertError(`peer id ${advert.peerId} carries no public key to check its advert with`)
  if (!await signatureValid(key, concat([ADVERT_SIGNATURE_PREFIX, bytes]), sig)) {
    throw new ForgedAdvertError(`relayed advert is not signed by ${advert.peerId}`)
  }
  return advert
}
