import type { AbortOptions } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import { Key, type Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import { concat } from 'uint8arrays/concat'
import { toString } from 'uint8arrays/to-string'
import { ConflictError, ModuleNotFoundError } from '../interface/errors.js'
import { decodeRoot, unpackModule, verifyBlock, type PackedModule } from './content.js'
import type { Manifest } from './manifest.js'
import { moduleId } from './manifest.js'

const PINS = '/noodle/modules/pins'
const LOCAL = '/noodle/modules/local'

export interface LocalModule {
  name: string
  version: string
  cid: string
  size: number
  pinned: boolean
}

export interface GcResult {
  removedBlocks: number
  freedBytes: number
}

/**
 * A node's modules: blocks in a blockstore (blockstore-level in the repo),
 * pins and the index of versions this node added in its datastore. Pinned
 * modules and every block they link to survive `gc`; anything else is
 * garbage (fetched modules are pinned while a service uses them).
 */
export class ModuleStore {
  private readonly blocks: Blockstore
  private readonly datastore: Datastore

  constructor (blocks: Blockstore, datastore: Datastore) {
    this.blocks = blocks
    this.datastore = datastore
  }

  /**
   * Store a packed module and pin it. The same name@version with other
   * content is refused: a version, once added, means one thing.
   */
  async add (packed: PackedModule, options: AbortOptions = {}): Promise<void> {
    await this.checkVersion(packed.manifest, packed.root, options)
    for (const block of packed.blocks) await this.blocks.put(block.cid, block.bytes, options)
    await this.keep(packed.manifest, packed.root, options)
  }

  /**
   * Index and pin a module version whose blocks are all here and verified
   * (a fetch puts them one by one with `putBlock`). The same name@version
   * held as other content is refused, as in `add`.
   */
  async keep (manifest: Manifest, root: CID, options: AbortOptions = {}): Promise<void> {
    await this.checkVersion(manifest, root, options)
    await this.datastore.put(new Key(`${LOCAL}/${moduleId(manifest)}`), new TextEncoder().encode(root.toString()), options)
    await this.pin(root, options)
  }

  private async checkVersion (manifest: Manifest, root: CID, options: AbortOptions): Promise<void> {
    const id = moduleId(manifest)
    const key = new Key(`${LOCAL}/${id}`)
    if (!(await this.datastore.has(key, options))) return
    const existing = new TextDecoder().decode(await this.datastore.get(key, options))
    if (existing !== root.toString()) throw new ConflictError(`${id} is already ${existing}; publish a new version for new content`)
  }

  /** Keep one block; the caller has verified its bytes against its CID. */
  async putBlock (cid: CID, bytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.blocks.put(cid, bytes, options)
  }

  async has (cid: CID, options: AbortOptions = {}): Promise<boolean> {
    return await this.blocks.has(cid, options)
  }

  /** A block's bytes, verified against its CID (a store can rot too). */
  async getBlock (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    if (!(await this.blocks.has(cid, options))) throw new ModuleNotFoundError(`no block ${cid.toString()} here`)
    const parts: Uint8Array[] = []
    for await (const part of this.blocks.get(cid, options)) parts.push(part)
    const bytes = parts.length === 1 ? parts[0]! : concat(parts)
    await verifyBlock(cid, bytes)
    return bytes
  }

  /** A stored module version, every block verified. */
  async read (root: CID, options: AbortOptions = {}): Promise<{ manifest: Manifest, wasm: Uint8Array }> {
    return await unpackModule(root, async (cid) => await this.getBlock(cid, options))
  }

  async pin (root: CID, options: AbortOptions = {}): Promise<void> {
    await this.datastore.put(new Key(`${PINS}/${root.toString()}`), new Uint8Array(0), options)
  }

  async unpin (root: CID, options: AbortOptions = {}): Promise<void> {
    const key = new Key(`${PINS}/${root.toString()}`)
    if (!(await this.datastore.has(key, options))) throw new ModuleNotFoundError(`${root.toString()} is not pinned`)
    await this.datastore.delete(key, options)
  }

  async pins (options: AbortOptions = {}): Promise<CID[]> {
    const out: CID[] = []
    for await (const { key } of this.datastore.query({ prefix: PINS }, options)) out.push(CID.parse(key.baseNamespace()))
    return out
  }

  /** The versions added on this node, with whether each is still pinned. */
  async list (options: AbortOptions = {}): Promise<LocalModule[]> {
    const pinned = new Set((await this.pins(options)).map(c => c.toString()))
    const out: LocalModule[] = []
    for await (const { key, value } of this.datastore.query({ prefix: LOCAL }, options)) {
      const id = key.baseNamespace()
      const at = id.lastIndexOf('@')
      const cid = new TextDecoder().decode(value)
      const size = await this.getBlock(CID.parse(cid), options).then(b => decodeRoot(b).wasm.size, () => 0)
      out.push({ name: id.slice(0, at), version: id.slice(at + 1), cid, size, pinned: pinned.has(cid) })
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
  }

  /**
   * Delete every block no pinned module links to. Blocks are compared by
   * multihash: blockstores key by it, and may list a block under another
   * codec than it was stored with.
   */
  async gc (options: AbortOptions = {}): Promise<GcResult> {
    const key = (cid: CID): string => toString(cid.multihash.bytes, 'base64')
    const live = new Set<string>()
    for (const root of await this.pins(options)) {
      live.add(key(root))
      const bytes = await this.getBlock(root, options).catch(() => undefined)
      if (bytes == null) continue
      const node = decodeRoot(bytes)
      for (const c of node.wasm.chunks) live.add(key(c))
    }
    let removedBlocks = 0
    let freedBytes = 0
    const dead: CID[] = []
    for await (const { cid, bytes } of this.blocks.getAll(options)) {
      if (live.has(key(cid))) continue
      for await (const part of bytes) freedBytes += part.byteLength
      dead.push(cid)
    }
    for (const cid of dead) {
      await this.blocks.delete(cid, options)
      removedBlocks++
    }
    return { removedBlocks, freedBytes }
  }
}
