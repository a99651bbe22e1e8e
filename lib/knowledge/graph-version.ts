import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { concat } from 'uint8arrays/concat'
import { canonicalJson } from '../canonical-json.js'
import { signatureValid } from '../signature.js'
import { graphHash } from './canonical.js'
import { MAX_SUMMARY_PREDICATES } from './store-protocol.js'

/**
 * Domain separation: a graph version's signature is never a valid signature
 * of anything else the owner's key signs (adverts, tokens).
 */
export const GRAPH_VERSION_SIGNATURE_PREFIX = new TextEncoder().encode('noodled/knowledge/graph-version:')

/** What an owner signs for each version of one of its graphs. */
export interface GraphVersionRecord {
  v: 1
  /** `urn:noodle:graph:<owner>/<name>` */
  graph: string
  /** the owner's peer id: the one key whose signature counts */
  owner: string
  version: number
  /** SHA-256 of the graph's canonical N-Triples (canonical.ts) */
  hash: string
  quads: number
  /** epoch ms at which the owner wrote it */
  at: number
  /**
   * the distinct predicates in it, sorted, when there are at most
   * MAX_SUMMARY_PREDICATES (source selection: a mesh query asks only the
   * graphs that can match it); absent: any
   */
  predicates?: string[]
}


export interface SignedGraphVersion {
  record: GraphVersionRecord
  /** base64 */
  signature: string
  /**
   * in a secure mesh, the owner's invocation of `graph/write` on
   * `kg:<name>` bound to the record (lib/auth): every daemon checks it
   */
  auth?: string
}

/** Why a version from elsewhere is refused; each is counted where it is checked. */
export type GraphVersionRefusal = 'forged' | 'tampered' | 'replayed' | 'malformed' | 'unauthorized'

/** A graph's local name: what follows its owner in its IRI. */
export function graphName (record: GraphVersionRecord): string {
  return record.graph.slice(`urn:noodle:graph:${record.owner}/`.length)
}

const bytesOf = (record: GraphVersionRecord): Uint8Array => concat([GRAPH_VERSION_SIGNATURE_PREFIX, new TextEncoder().encode(canonicalJson(record))])

export async function signGraphVersion (key: PrivateKey, record: GraphVersionRecord): Promise<SignedGraphVersion> {
  const owner = peerIdFromPublicKey(key.publicKey).toString()
  if (record.owner !== owner || !record.graph.startsWith(`urn:noodle:graph:${owner}/`)) throw new Error(`a graph version is signed by its owner (${record.owner}), not ${owner}`)
  const signature = await key.sign(bytesOf(record))
  return { record, signature: Buffer.from(signature).toString('base64') }
}

/**
 * Check a version received from another member against the owner's key,
 * its content, and the version already held: `undefined` when it may be
 * taken, else why not. Forged: not signed by the graph's owner (or the
 * graph is not the owner's). Tampered: the content is not what was signed.
 * Replayed: not newer than the version held.
 */
export async function checkGraphVersion (signed: SignedGraphVersion, ownerKey: PublicKey, canonical: string, held?: { version: number }): Promise<GraphVersionRefusal | undefined> {
  const refusal = await checkGraphRecord(signed, held, ownerKey)
  if (refusal != null) return refusal
  if (graphHash(canonical) !== signed.record.hash) return 'tampered'
  return undefined
}

/**
 * The same checks without the content (a catalog entry travels without
 * it; its content is checked against `hash` when it is fetched). The
 * owner's key is the one in its peer id (Ed25519 ids carry their key).
 */
export async function checkGraphRecord (signed: SignedGraphVersion, held?: { version: number }, ownerKey?: PublicKey): Promise<GraphVersionRefusal | undefined> {
  const r = signed?.record
  if (r == null || r.v !== 1 || typeof r.graph !== 'string' || typeof r.owner !== 'string' || !Number.isSafeInteger(r.version) || r.version < 1 ||
    typeof r.hash !== 'string' || !Number.isSafeInteger(r.quads) || !Number.isSafeInteger(r.at) || typeof signed.signature !== 'string' ||
    (signed.auth != null && (typeof signed.auth !== 'string' || signed.auth.length > 64 * 1024)) ||
    (r.predicates != null && (!Array.isArray(r.predicates) || r.predicates.length > MAX_SUMMARY_PREDICATES || r.predicates.some(p => typeof p !== 'string')))) return 'malformed'
  let key = ownerKey
  if (key == null) {
    try {
      key = peerIdFromString(r.owner).publicKey
    } catch {
      return 'malformed'
    }
    if (key == null) return 'malformed'
  }
  const owner = peerIdFromPublicKey(key).toString()
  if (r.owner !== owner || !r.graph.startsWith(`urn:noodle:graph:${owner}/`)) return 'forged'
  if (!await signatureValid(key, bytesOf(r), new Uint8Array(Buffer.from(signed.signature, 'base64')))) return 'forged'
  if (held != null && r.version <= held.version) return 'replayed'
  return undefined
}
