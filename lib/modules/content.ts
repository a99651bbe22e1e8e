import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { concat } from 'uint8arrays/concat'
import { equals } from 'uint8arrays/equals'
import { z } from 'zod'
import { BlockVerificationError } from '../interface/errors.js'
import { CHUNK_BYTES, MAX_MANIFEST_BYTES, MAX_WASM_BYTES } from './constants.js'
import { parseManifest, type Manifest } from './manifest.js'

export interface Block {
  cid: CID
  bytes: Uint8Array
}

/**
 * The root block of a module version (dag-cbor): the manifest, and the wasm
 * as links to raw blocks. `wasm.cid` is the CID the whole binary has as one
 * raw block, i.e. its sha-256: equal to the only chunk's CID up to
 * CHUNK_BYTES, and what the runtime checks before it instantiates.
 */
export interface ModuleRoot {
  v: 1
  manifest: Manifest
  wasm: {
    cid: CID
    size: number
    chunks: CID[]
  }
}

export interface PackedModule {
  /** identifies this module version on every machine */
  root: CID
  /** the root block first, then the wasm's chunks in order */
  blocks: Block[]
  manifest: Manifest
  wasm: ModuleRoot['wasm']
}

/** A raw block: the bytes as they are, addressed by their sha-256. */
export async function rawBlock (bytes: Uint8Array): Promise<Block> {
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/**
 * Content-address a module: identical manifest and wasm give identical
 * blocks and root CID on every machine (dag-cbor encodes maps in a canonical
 * key order; the manifest is the validated one, defaults filled in).
 */
export async function packModule (manifest: Manifest, wasm: Uint8Array): Promise<PackedModule> {
  if (wasm.byteLength === 0 || wasm.byteLength > MAX_WASM_BYTES) throw new BlockVerificationError(`a module's wasm must be 1 byte to ${MAX_WASM_BYTES} bytes, not ${wasm.byteLength}`)
  const chunks: Block[] = []
  for (let offset = 0; offset < wasm.byteLength; offset += CHUNK_BYTES) {
    chunks.push(await rawBlock(wasm.subarray(offset, offset + CHUNK_BYTES)))
  }
  const whole = chunks.length === 1 ? chunks[0]!.cid : (await rawBlock(wasm)).cid
  const node: ModuleRoot = { v: 1, manifest, wasm: { cid: whole, size: wasm.byteLength, chunks: chunks.map(c => c.cid) } }
  const bytes = dagCbor.encode(node)
  const root = CID.createV1(dagCbor.code, await sha256.digest(bytes))
  return { root, blocks: [{ cid: root, bytes }, ...chunks], manifest, wasm: node.wasm }
}

/** Throws BlockVerificationError unless `bytes` hash (sha2-256) to `cid`. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  if (cid.multihash.code !== sha256.code) throw new BlockVerificationError(`block ${cid.toString()} uses a hash other than sha2-256`)
  const digest = await sha256.digest(bytes)
  if (!equals(digest.digest, cid.multihash.digest)) throw new BlockVerificationError(`block ${cid.toString()}: the bytes received hash to ${CID.createV1(cid.code, digest).toString()}`)
}

const cidSchema = z.custom<CID>(v => CID.asCID(v) != null, { error: 'a CID' }).transform(v => CID.asCID(v)!)

const rootSchema = z.strictObject({
  v: z.literal(1),
  manifest: z.unknown(),
  wasm: z.strictObject({
    cid: cidSchema,
    size: z.number().int().min(1).max(MAX_WASM_BYTES),
    chunks: z.array(cidSchema).min(1).max(Math.ceil(MAX_WASM_BYTES / CHUNK_BYTES))
  })
})

/** Decode and check a module's root block (its bytes already verified against its CID). */
export function decodeRoot (bytes: Uint8Array): ModuleRoot {
  if (bytes.byteLength > MAX_MANIFEST_BYTES + 16 * 1024) throw new BlockVerificationError(`a module root of ${bytes.byteLength} bytes is too large`)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err: any) {
    throw new BlockVerificationError(`not a module root block: ${err.message}`)
  }
  const parsed = rootSchema.safeParse(value)
  if (!parsed.success) throw new BlockVerificationError(`not a module root block: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const { wasm } = parsed.data
  if (wasm.chunks.length !== Math.ceil(wasm.size / CHUNK_BYTES)) throw new BlockVerificationError(`a module root lists ${wasm.chunks.length} chunks for ${wasm.size} bytes`)
  if (wasm.chunks.some(c => c.code !== raw.code) || wasm.cid.code !== raw.code) throw new BlockVerificationError('a module\'s wasm must be raw blocks')
  let manifest
  try {
    manifest = parseManifest(parsed.data.manifest)
  } catch (err: any) {
    throw new BlockVerificationError(`not a module root block: ${err.message}`)
  }
  return { v: 1, manifest, wasm }
}

/**
 * The one chunk a module root links to, for a WITH_LINK block request;
 * undefined for any other block (not a root, or a root of several chunks,
 * whose chunks are better spread over providers).
 */
export function linkedChunk (bytes: Uint8Array): CID | undefined {
  try {
    const { chunks } = decodeRoot(bytes).wasm
    return chunks.length === 1 ? chunks[0] : undefined
  } catch {
    return undefined
  }
}

/**
 * Check that a module's chunks, each already verified against its own CID,
 * make the binary its root names: the sizes add up, and the whole hashes
 * to `wasm.cid` (hashed chunk by chunk, without joining them).
 */
export function verifyWasm (root: CID, node: ModuleRoot, chunks: Uint8Array[]): void {
  const size = chunks.reduce((n, c) => n + c.byteLength, 0)
  if (size !== node.wasm.size) throw new BlockVerificationError(`module ${root.toString()}: ${size} bytes of wasm, its root says ${node.wasm.size}`)
  if (chunks.length === 1) {
    if (!node.wasm.cid.equals(node.wasm.chunks[0])) throw new BlockVerificationError(`module ${root.toString()}: its only chunk is not the wasm its root names`)
    return
  }
  const hash = createHash('sha256')
  for (const chunk of chunks) hash.update(chunk)
  if (node.wasm.cid.multihash.code !== sha256.code || !equals(new Uint8Array(hash.digest()), node.wasm.cid.multihash.digest)) {
    throw new BlockVerificationError(`module ${root.toString()}: its chunks do not make the wasm its root names (${node.wasm.cid.toString()})`)
  }
}

/**
 * Read a module version back from its blocks, verifying every one: the
 * root, each chunk, and the whole binary against `wasm.cid`. `get` fetches
 * a block's bytes (from the local store or from peers).
 */
export async function unpackModule (root: CID, get: (cid: CID) => Promise<Uint8Array>): Promise<{ manifest: Manifest, wasm: Uint8Array, root: ModuleRoot }> {
  const rootBytes = await get(root)
  await verifyBlock(root, rootBytes)
  const node = decodeRoot(rootBytes)
  const chunks = await Promise.all(node.wasm.chunks.map(async (cid) => {
    const bytes = await get(cid)
    await verifyBlock(cid, bytes)
    return bytes
  }))
  verifyWasm(root, node, chunks)
  return { manifest: node.manifest, wasm: chunks.length === 1 ? chunks[0]! : concat(chunks), root: node }
}
