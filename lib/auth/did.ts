import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ed25519 } from '@ucanto/principal'
import type { EdSigner } from '@ucanto/principal/ed25519'
import { base58btc } from 'multiformats/bases/base58'
import { InvalidTokenError } from '../interface/errors.js'

/** multicodec ed25519-pub, varint-encoded */
const ED25519_PUB = Uint8Array.of(0xed, 0x01)
const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/

export type Did = `did:key:${string}`

/** An Ed25519 libp2p key as a UCAN signer; its did:key names the same public key as the peer id. */
export async function signerFromKey (key: PrivateKey): Promise<EdSigner> {
  if (key.type !== 'Ed25519') throw new InvalidTokenError(`only Ed25519 keys can sign tokens, not ${key.type}`)
  return ed25519.derive(key.raw.subarray(0, 32))
}

export function didFromPublicKey (raw: Uint8Array): Did {
  const bytes = new Uint8Array(ED25519_PUB.length + raw.length)
  bytes.set(ED25519_PUB)
  bytes.set(raw, ED25519_PUB.length)
  return `did:key:${base58btc.encode(bytes)}`
}

/** A peer id (Ed25519, public key inline) as the did:key of the same key. */
export function didFromPeerId (peerId: string): Did {
  let id
  try {
    id = peerIdFromString(peerId)
  } catch {
    throw new InvalidTokenError(`not a peer id: ${JSON.stringify(peerId)}`)
  }
  if (id.type !== 'Ed25519') throw new InvalidTokenError(`peer ${peerId} has no Ed25519 key`)
  return didFromPublicKey(id.publicKey.raw)
}

/** The peer id of an Ed25519 did:key, or undefined for anything else. */
export function peerIdFromDid (did: string): string | undefined {
  if (!DID_KEY.test(did)) return undefined
  try {
    const bytes = base58btc.decode(did.slice('did:key:'.length))
    if (bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1] || bytes.length !== 34) return undefined
    return peerIdFromPublicKey(publicKeyFromRaw(bytes.subarray(2))).toString()
  } catch {
    return undefined
  }
}

export function isDid (value: string): value is Did {
  return peerIdFromDid(value) != null
}

/** A `--to` argument: a did:key, or a peer id taken as the did:key of its key. */
export function parsePrincipal (value: string): Did {
  if (value.startsWith('did:')) {
    if (!isDid(value)) throw new InvalidTokenError(`not an Ed25519 did:key: ${JSON.stringify(value)}`)
    return value as Did
  }
  return didFromPeerId(value)
}
