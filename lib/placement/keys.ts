import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { SERVICE_KEY_PREFIX } from './constants.js'

/**
 * Positions on the ring are Kademlia ids: SHA-256 of the peer id's multihash
 * for members and of the record key for services, exactly as kad-dht computes
 * them (`convertPeerId`, `convertBuffer`). So "the members closest to a
 * service by XOR" here are the peers the DHT's getClosestPeers(serviceKey)
 * finds, and either can answer the question.
 */
export function serviceKey (name: string): Uint8Array {
  return new TextEncoder().encode(`${SERVICE_KEY_PREFIX}${name}`)
}

export function serviceKadId (name: string): Uint8Array {
  return sha256(serviceKey(name))
}

const memberIds = new Map<string, Uint8Array>()

export function memberKadId (peerId: string): Uint8Array {
  let id = memberIds.get(peerId)
  if (id == null) {
    id = sha256(peerIdFromString(peerId).toMultihash().bytes)
    // bounded: ids of members long gone are recomputed if they ever return
    if (memberIds.size > 100_000) memberIds.clear()
    memberIds.set(peerId, id)
  }
  return id
}

export function xor (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** Compare two equal-length big-endian distances. */
export function compareDistance (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return 0
}

/** Distance as hex, for `placement explain`. */
export function distanceHex (d: Uint8Array): string {
  return Buffer.from(d).toString('hex')
}

function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}
