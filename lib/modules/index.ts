import { serviceCapabilities, type AbortOptions, type ComponentLogger, type Logger, type Startable } from '@libp2p/interface'
import { MemoryBlockstore } from 'blockstore-core/memory'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import type { LocalModuleView, ModuleGcView, ModuleInfoView, PublishedModuleView } from '../interface/api.js'
import { InvalidRequestError, ModuleNotFoundError } from '../interface/errors.js'
import { decodeRoot, packModule } from './content.js'
import { checkExports } from './module-dir.js'
import { parseManifest } from './manifest.js'
import { ModuleStore } from './store.js'

export { parseManifest, type Manifest } from './manifest.js'
export { readModuleDir } from './module-dir.js'
export { resolveModules, type Resolution } from './resolver.js'

export interface ModulesInit {
  /** where blocks live; in memory when absent (tests) */
  blockstore?: Blockstore
}

export interface ModulesComponents {
  datastore: Datastore
  logger: ComponentLogger
}

/**
 * Content-addressed WebAssembly modules on this node: publish (validate,
 * content-address, store, pin), list, inspect, pin, unpin, collect garbage.
 * Catalog replication and fetching from peers build on this (issue 6).
 */
export class Modules implements Startable {
  readonly store: ModuleStore
  private readonly log: Logger

  constructor (components: ModulesComponents, init: ModulesInit = {}) {
    this.store = new ModuleStore(init.blockstore ?? new MemoryBlockstore(), components.datastore)
    this.log = components.logger.forComponent('noodled:modules')
  }

  readonly [Symbol.toStringTag] = 'noodled/modules'
  readonly [serviceCapabilities]: string[] = ['noodled:modules']

  async start (): Promise<void> {}
  async stop (): Promise<void> {}

  /** Validate and store a module version; the same name@version with other content is refused. */
  async publish (manifestInput: unknown, wasm: Uint8Array, options: AbortOptions = {}): Promise<PublishedModuleView> {
    const manifest = parseManifest(manifestInput)
    await checkExports(manifest, wasm)
    const packed = await packModule(manifest, wasm)
    await this.store.add(packed, options)
    this.log('published %s@%s as %s (%d bytes)', manifest.name, manifest.version, packed.root, wasm.byteLength)
    return { name: manifest.name, version: manifest.version, cid: packed.root.toString() }
  }

  async list (options: AbortOptions = {}): Promise<LocalModuleView[]> {
    return await this.store.list(options)
  }

  /** A stored module version by root CID or by `name@version`. */
  async info (ref: string, options: AbortOptions = {}): Promise<ModuleInfoView> {
    const cid = await this.rootOf(ref, options)
    const root = decodeRoot(await this.store.getBlock(cid, options))
    const pinned = (await this.store.pins(options)).some(p => p.equals(cid))
    return {
      name: root.manifest.name,
      version: root.manifest.version,
      cid: cid.toString(),
      size: root.wasm.size,
      pinned,
      manifest: root.manifest,
      wasm: { cid: root.wasm.cid.toString(), size: root.wasm.size, chunks: root.wasm.chunks.map(c => c.toString()) }
    }
  }

  async pin (ref: string, options: AbortOptions = {}): Promise<ModuleInfoView> {
    const cid = await this.rootOf(ref, options)
    await this.store.getBlock(cid, options)
    await this.store.pin(cid, options)
    return await this.info(cid.toString(), options)
  }

  async unpin (ref: string, options: AbortOptions = {}): Promise<ModuleInfoView> {
    const cid = await this.rootOf(ref, options)
    await this.store.unpin(cid, options)
    return await this.info(cid.toString(), options)
  }

  async gc (options: AbortOptions = {}): Promise<ModuleGcView> {
    const result = await this.store.gc(options)
    this.log('gc removed %d blocks (%d bytes)', result.removedBlocks, result.freedBytes)
    return result
  }

  private async rootOf (ref: string, options: AbortOptions): Promise<CID> {
    if (ref.includes('@')) {
      const found = (await this.store.list(options)).find(m => `${m.name}@${m.version}` === ref)
      if (found == null) throw new ModuleNotFoundError(`no module ${ref} on this node`)
      return CID.parse(found.cid)
    }
    try {
      return CID.parse(ref)
    } catch {
      throw new InvalidRequestError(`"${ref}" is neither a CID nor name@version`)
    }
  }
}

export function modules (init: ModulesInit = {}): (components: ModulesComponents) => Modules {
  return (components) => new Modules(components, init)
}
