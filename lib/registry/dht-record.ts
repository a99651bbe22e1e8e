import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { signatureValid } from '../signature.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { z } from 'zod'
import { SERVICE_KEY_PREFIX } from '../placement/constants.js'
import { serviceKey } from '../placement/keys.js'
import { MAX_ENTRY_BYTES } from './constants.js'
import { newer, parseEntry, type CatalogEntry } from './entry.js'
import { InvalidCatalogEntryError } from './errors.js'

/**
 * A catalog entry as a DHT record under the service key
 * (`/noodle/service/<name>`, whose Kademlia id is the one placement ranks
 * members by), so a node that has not caught up can still find a service's
 * spec. The record is signed by the entry's author: anyone can store a record
 * on the DHT, so without the signature a peer could plant a newer-looking
 * spec or a false tombstone.
 */
const recordSchema = z.strictObject({
  /** the entry, JSON-encoded: signed as these exact bytes */
  entry: z.string().max(MAX_ENTRY_BYTES),
  /** base64 signature by the author's key over the entry bytes */
  sig: z.string().max(512)
})

/** The DHT key namespace validators and selectors are registered under ("noodle"). */
export const SERVICE_RECORD_NAMESPACE = SERVICE_KEY_PREFIX.split('/')[1]!

export async function encodeServiceRecord (entry: CatalogEntry, key: PrivateKey): Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(JSON.stringify(entry))
  const sig = await key.sign(bytes)
  return new TextEncoder().encode(JSON.stringify({ entry: new TextDecoder().decode(bytes), sig: Buffer.from(sig).toString('base64') }))
}

/**
 * Verify a record found under `key`: well formed, for the service the key
 * names, signed by its author. Throws InvalidCatalogEntryError.
 */
export async function decodeServiceRecord (key: Uint8Array, value: Uint8Array): Promise<CatalogEntry> {
  if (value.byteLength > MAX_ENTRY_BYTES * 2) throw new InvalidCatalogEntryError(`service record of ${value.byteLength} bytes`)
  let record: z.output<typeof recordSchema>
  let entry: CatalogEntry
  try {
    record = recordSchema.parse(JSON.parse(new TextDecoder().decode(value)))
    entry = parseEntry(JSON.parse(record.entry))
  } catch (err: any) {
    throw new InvalidCatalogEntryError(`malformed service record: ${err.message}`)
  }
  if (new TextDecoder().decode(key) !== new TextDecoder().decode(serviceKey(entry.name))) {
    throw new InvalidCatalogEntryError(`service record for "${entry.name}" stored under another key`)
  }
  // noodled's peer ids are Ed25519, which carry the public key inline
  let publicKey: PublicKey | undefined
  try {
    publicKey = peerIdFromString(entry.author).publicKey
  } catch {}
  if (publicKey == null) throw new InvalidCatalogEntryError('service record author has no inline public key')
  const ok = await signatureValid(publicKey, new TextEncoder().encode(record.entry), Buffer.from(record.sig, 'base64'))
  if (!ok) throw new InvalidCatalogEntryError(`service record for "${entry.name}" is not signed by its author`)
  return entry
}

/** kad-dht validator for the namespace */
export async function validateServiceRecord (key: Uint8Array, value: Uint8Array): Promise<void> {
  await decodeServiceRecord(key, value)
}

/** kad-dht selector: the newest entry (same order as the catalog's merge) */
export async function selectServiceRecord (key: Uint8Array, records: Uint8Array[]): Promise<number> {
  let best = -1
  let bestEntry: CatalogEntry | undefined
  for (let i = 0; i < records.length; i++) {
    try {
      const entry = await decodeServiceRecord(key, records[i]!)
      if (newer(entry, bestEntry)) {
        best = i
        bestEntry = entry
      }
    } catch {}
  }
  return Math.max(0, best)
}

/** The CID whose providers are a service's hosts: raw bytes of the service key. */
export async function serviceCid (name: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(serviceKey(name)))
}
