import { peerIdFromString } from '@libp2p/peer-id'
import { signatureValid } from '../signature.js'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import semver from 'semver'
import { z } from 'zod'
import { BlockVerificationError } from '../interface/errors.js'
import { MODULE_NAME } from './constants.js'

/**
 * One published module version in the mesh-wide catalog: name@version ->
 * root CID, with the publisher's peer id and signature over the rest, so
 * any node can check an entry however it arrived (gossip, sync, disk).
 */
export interface ModuleCatalogEntry {
  name: string
  version: string
  cid: string
  dependencies: Record<string, string>
  publisher: string
  /** epoch ms; the earlier of two conflicting publishes wins everywhere */
  publishedAt: number
  /** base64 signature by the publisher's key over `signedBytes(entry)` */
  signature: string
  /** in a mesh with operators: the publisher's `module/publish` invocation, bound to the signed fields */
  auth?: string
}

export const MAX_CATALOG_ENTRY_BYTES = 48 * 1024

export const catalogEntrySchema = z.strictObject({
  name: z.string().regex(MODULE_NAME),
  version: z.string().max(64).refine(v => semver.valid(v) === v, { error: 'not a semantic version' }),
  cid: z.string().max(128).refine(c => { try { return CID.parse(c).version === 1 } catch { return false } }, { error: 'not a CIDv1' }),
  dependencies: z.record(z.string().regex(MODULE_NAME), z.string().max(128).refine(r => semver.validRange(r) != null)).refine(d => Object.keys(d).length <= 64),
  publisher: z.string().max(128),
  publishedAt: z.number().int().min(0),
  signature: z.string().max(512),
  auth: z.string().max(32 * 1024).optional()
})

/** The bytes a publisher signs: every field but the signature, in dag-cbor's canonical order. */
export function signedBytes (entry: Omit<ModuleCatalogEntry, 'signature'>): Uint8Array {
  const { name, version, cid, dependencies, publisher, publishedAt } = entry
  return dagCbor.encode({ name, version, cid, dependencies, publisher, publishedAt })
}

/** What a `module/publish` invocation binds: the signed fields. */
export function publishedFields (entry: Omit<ModuleCatalogEntry, 'signature' | 'auth'>): Record<string, unknown> {
  const { name, version, cid, dependencies, publisher, publishedAt } = entry
  return { name, version, cid, dependencies, publisher, publishedAt }
}

export async function signEntry (fields: Omit<ModuleCatalogEntry, 'signature' | 'auth'>, key: PrivateKey): Promise<ModuleCatalogEntry> {
  const signature = Buffer.from(await key.sign(signedBytes(fields))).toString('base64')
  return { ...fields, signature }
}

/** Parse an entry from the wire or disk and check its signature; throws BlockVerificationError. */
export async function verifyEntry (value: unknown): Promise<ModuleCatalogEntry> {
  const parsed = catalogEntrySchema.safeParse(value)
  if (!parsed.success) throw new BlockVerificationError(`malformed module catalog entry: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const entry = parsed.data
  let publicKey: PublicKey | undefined
  try {
    // noodled's peer ids are Ed25519, which carry the public key inline
    publicKey = peerIdFromString(entry.publisher).publicKey
  } catch {}
  if (publicKey == null) throw new BlockVerificationError(`module catalog entry ${entry.name}@${entry.version}: publisher ${entry.publisher} has no inline public key`)
  const ok = await signatureValid(publicKey, signedBytes(entry), Buffer.from(entry.signature, 'base64'))
  if (!ok) throw new BlockVerificationError(`module catalog entry ${entry.name}@${entry.version} is not signed by its publisher`)
  return entry
}

/** Of two entries for the same name@version, the one every node keeps: the earlier publish, then the lower CID. */
export function preferred (a: ModuleCatalogEntry, b: ModuleCatalogEntry): ModuleCatalogEntry {
  if (a.publishedAt !== b.publishedAt) return a.publishedAt < b.publishedAt ? a : b
  return a.cid <= b.cid ? a : b
}
