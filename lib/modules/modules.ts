import { serviceDependencies, serviceCapabilities, type AbortOptions, type Logger, type PeerId, type Startable } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { CID } from 'multiformats/cid'
import type { ModuleFetchView, ModuleGcView, ModuleInfoView, ModuleListView, ModuleResolutionView, PublishedModuleView } from '../interface/api.js'
import { ConflictError, InvalidRequestError, ModuleNotFoundError } from '../interface/errors.js'
import { BLOCK_PROTOCOL_SUFFIX } from './block-protocol.js'
import { BlockServer } from './block-server.js'
import { BlockStreams } from './block-streams.js'
import { ModuleCatalog } from './catalog.js'
import { publishedFields, signEntry } from './catalog-entry.js'
import { moduleCatalogReplication, type ModuleDigest } from './replication.js'
import type { Replicator } from '../replication/index.js'
import { resolveModules } from './resolver.js'
import { decodeRoot, packModule } from './content.js'
import { checkExports } from './module-dir.js'
import { parseManifest } from './manifest.js'
import { ModuleFetcher } from './fetch.js'
import { ProviderPenalties } from './penalties.js'
import { ModuleStore } from './store.js'
import { timeoutSignal } from '../signals.js'
import { connectedPeerSample } from '../json-exchange.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'
import type { FetchOptions, ModulesComponents, ModulesInit } from './index.js'

/** A provider walk on the DHT gives up after this long (it runs in the background). */
const PROVIDE_TIMEOUT_MS = 60_000
const FIND_PROVIDERS_TIMEOUT_MS = 20_000
/**
 * After the DHT's providers, a fetch asks up to this many neighbours: a copy
 * whose provider record has not spread yet (or was never made) is found too,
 * and a neighbour without it answers "not here" at the cost of a round trip.
 */
const NEIGHBOURS_ASKED = 16

/**
 * Content-addressed WebAssembly modules: publish (validate, content-address,
 * store and pin here, sign a catalog entry and gossip it), the mesh-wide
 * catalog, resolving `name@range`, inspecting, pinning and collecting
 * garbage. Fetching blocks from peers: fetch.ts.
 */
export class Modules implements Startable {
  readonly store: ModuleStore
  readonly catalog: ModuleCatalog
  readonly replication: Replicator<ModuleDigest>
  /** providers that served bad bytes, passed over for a while */
  readonly penalties = new ProviderPenalties()
  readonly blockServer: BlockServer
  private readonly fetcher: ModuleFetcher
  private readonly blockStreams: BlockStreams
  private readonly components: ModulesComponents
  private readonly log: Logger
  private controller = new AbortController()
  private started = false
  private provideChain: Promise<void> = Promise.resolve()

  constructor (components: ModulesComponents, init: ModulesInit = {}) {
    this.components = components
    this.store = new ModuleStore(init.blockstore ?? new MemoryBlockstore(), components.datastore)
    this.catalog = new ModuleCatalog({ datastore: components.datastore, self: components.peerId.toString(), ...(components.auth != null ? { guard: components.auth } : {}) })
    this.log = components.logger.forComponent('noodled:modules')
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.replication = moduleCatalogReplication(components, {
      catalog: this.catalog,
      protocolPrefix: prefix,
      log: this.log,
      ...(init.syncIntervalMs != null ? { syncIntervalMs: init.syncIntervalMs } : {})
    })
    const blockProtocol = `${prefix}${BLOCK_PROTOCOL_SUFFIX}`
    this.blockServer = new BlockServer(components.registrar, {
      protocol: blockProtocol,
      getBlock: async (cid, options) => await this.store.getBlock(cid, options),
      log: this.log
    })
    this.blockStreams = new BlockStreams(components.connectionManager, blockProtocol)
    this.fetcher = new ModuleFetcher({
      store: this.store,
      streams: this.blockStreams,
      self: components.peerId,
      penalties: this.penalties,
      log: this.log,
      providers: (root, signal, likely) => this.candidates(root, signal, likely),
      announce: (root) => { this.announce(root) }
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/modules'
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']
  readonly [serviceCapabilities]: string[] = ['noodled:modules']

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = new AbortController()
    await this.catalog.load()
    await this.replication.start()
    await this.blockServer.start()
    this.started = true
  }

  afterStart (): void {
    this.replication.afterStart()
    // what this node keeps, it offers: provider records for its pinned modules
    // (kad-dht re-announces them before they expire, every 24 h)
    void this.store.pins().then(roots => { for (const root of roots) this.announce(root) }, () => {})
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller.abort()
    this.blockStreams.clear()
    await this.blockServer.stop()
    await this.replication.stop()
  }

  /** Announce this node as a provider of a module's root CID on the DHT (queued: each is a walk). */
  private announce (root: CID): void {
    const dht = this.components.dht
    if (dht == null) return
    this.provideChain = this.provideChain.then(async () => {
      if (this.controller.signal.aborted) return
      try {
        for await (const _ of dht.provide(root, { signal: AbortSignal.any([this.controller.signal, timeoutSignal(PROVIDE_TIMEOUT_MS)]) })) {}
        this.log('providing %s', root)
      } catch (err) {
        this.log.trace('could not announce %s on the DHT: %e', root, err)
      }
    })
  }

  /** Resolves when the provider announcements queued so far have finished (their DHT walks run in the background). */
  async settled (): Promise<void> {
    await this.provideChain
  }

  /** Peers with a provider record for a module's root CID (this node left out). */
  async providers (ref: string, options: AbortOptions = {}): Promise<string[]> {
    const root = await this.rootOf(ref, options)
    const found = new Set<string>()
    const signal = AbortSignal.any([this.controller.signal, options.signal ?? timeoutSignal(FIND_PROVIDERS_TIMEOUT_MS)])
    for await (const p of this.dhtProviders(root, signal)) if (!p.equals(this.components.peerId)) found.add(p.toString())
    return [...found].sort()
  }

  /** Providers of `root` as the DHT walk finds them (this node among them when it provides it); ends quietly when the walk does. */
  private async * dhtProviders (root: CID, signal: AbortSignal): AsyncGenerator<PeerId> {
    const dht = this.components.dht
    if (dht == null) return
    try {
      for await (const event of dht.findProviders(root, { signal })) {
        if (event.name !== 'PROVIDER') continue
        for (const p of event.providers) yield p.id
      }
    } catch (err) {
      if (!signal.aborted) this.log.trace('provider walk for %s ended: %e', root, err)
    }
  }

  /**
   * Peers that may hold a module, for a fetch: those the caller knows hold
   * it, its publisher, those with a provider record on the DHT as the walk
   * finds them, then a few neighbours (a session skips a peer it has
   * already asked).
   */
  private async * candidates (root: CID, signal: AbortSignal, likely: PeerId[] = []): AsyncGenerator<PeerId> {
    for (const p of likely) if (!p.equals(this.components.peerId)) yield p
    // the publisher holds it (unless it unpinned it since): ask before the DHT walk's round trips,
    // and dial it when not connected: right after a publish there may be no provider record yet
    // (the publisher's DHT walk is queued) and no neighbour with the blocks, while the
    // publisher is a member one dial away
    const publisher = this.catalog.all().find(e => e.cid === root.toString())?.publisher
    // (a catalog entry's publisher is the peer id its signature was checked against)
    if (publisher != null && publisher !== this.components.peerId.toString()) yield peerIdFromString(publisher)
    yield * this.dhtProviders(root, AbortSignal.any([signal, timeoutSignal(FIND_PROVIDERS_TIMEOUT_MS)]))
    if (signal.aborted) return
    yield * connectedPeerSample(this.components.connectionManager, NEIGHBOURS_ASKED)
  }

  /**
   * Make a module and its dependencies whole on this node: resolve `ref`
   * (name@range, name@version or a root CID) to its lockfile, then fetch
   * what is missing of each version, dependencies first, from peers that
   * hold it, verifying every block. Each version ends up stored, pinned and
   * offered to others.
   */
  async fetch (ref: string, options: FetchOptions = {}): Promise<ModuleFetchView> {
    const started = performance.now()
    const lock = await this.lockFor(ref, options)
    const modules = []
    for (const [i, { id, cid }] of lock.entries()) {
      modules.push(await this.fetcher.fetch(cid, { ...options, ...(id != null ? { id } : {}), index: i + 1, count: lock.length }))
    }
    return {
      root: lock[lock.length - 1]!.cid.toString(),
      modules,
      fetchedBytes: modules.reduce((n, m) => n + m.fetchedBytes, 0),
      ms: Math.round(performance.now() - started)
    }
  }

  /** The versions a fetch of `ref` needs, dependencies first (a CID the catalog does not know stands alone). */
  private async lockFor (ref: string, options: FetchOptions): Promise<Array<{ id?: string, cid: CID }>> {
    let resolveRef = ref
    if (!ref.includes('@')) {
      const cid = await this.rootOf(ref, options)
      const entry = this.catalog.all().find(e => e.cid === cid.toString())
      if (entry == null) return [{ cid }]
      resolveRef = `${entry.name}@${entry.version}`
    }
    const resolution = this.resolve(resolveRef, { includePrerelease: options.includePrerelease === true })
    return resolution.order.map(id => ({ id, cid: CID.parse(resolution.lock[id]!) }))
  }

  /**
   * Validate, store and pin a module version, and publish it to the mesh's
   * catalog. A name@version the catalog already names with other content
   * is refused, here or anywhere else it has reached.
   */
  async publish (manifestInput: unknown, wasm: Uint8Array, options: AbortOptions = {}): Promise<PublishedModuleView> {
    const manifest = parseManifest(manifestInput)
    await checkExports(manifest, wasm)
    const packed = await packModule(manifest, wasm)
    const cid = packed.root.toString()
    const held = this.catalog.get(manifest.name, manifest.version)
    if (held != null && held.cid !== cid) {
      throw new ConflictError(`${manifest.name}@${manifest.version} is already published as ${held.cid} (by ${held.publisher}); publish a new version for new content`)
    }
    const fields = { name: manifest.name, version: manifest.version, cid, dependencies: manifest.dependencies, publisher: this.components.peerId.toString(), publishedAt: Date.now() }
    // refused before anything is stored when this node holds no token for it
    const auth = held == null ? await this.components.auth?.authorize('module/publish', `mod:${manifest.name}`, publishedFields(fields), 'publish') : undefined
    await this.store.add(packed, options)
    this.announce(packed.root)
    if (held == null) {
      const entry = { ...await signEntry(fields, this.components.privateKey), ...(auth != null ? { auth } : {}) }
      await this.catalog.add(entry, options)
      await this.replication.announce([entry])
    }
    this.log('published %s@%s as %s (%d bytes)', manifest.name, manifest.version, cid, wasm.byteLength)
    return { name: manifest.name, version: manifest.version, cid }
  }

  /** The catalog's versions (and any stored here that it lacks), with what this node holds. */
  async list (options: AbortOptions = {}): Promise<ModuleListView[]> {
    const local = new Map((await this.store.list(options)).map(m => [m.cid, m]))
    const pins = new Set((await this.store.pins(options)).map(c => c.toString()))
    const out: ModuleListView[] = []
    for (const e of this.catalog.all()) {
      out.push({ name: e.name, version: e.version, cid: e.cid, publisher: e.publisher, publishedAt: new Date(e.publishedAt).toISOString(), dependencies: e.dependencies, stored: await this.store.has(CID.parse(e.cid), options), pinned: pins.has(e.cid) })
      local.delete(e.cid)
    }
    for (const m of local.values()) out.push({ name: m.name, version: m.version, cid: m.cid, publisher: '', publishedAt: '', dependencies: {}, stored: true, pinned: m.pinned })
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, 'en', { numeric: true }))
  }

  /** `name@range` and its dependencies, from the catalog, to a lockfile. */
  resolve (ref: string, options: { includePrerelease?: boolean } = {}): ModuleResolutionView {
    return resolveModules(ref, this.catalog, options)
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
    this.announce(cid)
    return await this.info(cid.toString(), options)
  }

  async unpin (ref: string, options: AbortOptions = {}): Promise<ModuleInfoView> {
    const cid = await this.rootOf(ref, options)
    await this.store.unpin(cid, options)
    // its blocks may go at the next gc: stop offering them
    await this.components.dht?.cancelReprovide(cid, options).catch(() => {})
    return await this.info(cid.toString(), options)
  }

  async gc (options: AbortOptions = {}): Promise<ModuleGcView> {
    const result = await this.store.gc(options)
    this.log('gc removed %d blocks (%d bytes)', result.removedBlocks, result.freedBytes)
    return result
  }

  private async rootOf (ref: string, options: AbortOptions): Promise<CID> {
    if (ref.includes('@')) {
      const at = ref.lastIndexOf('@')
      const entry = this.catalog.get(ref.slice(0, at), ref.slice(at + 1))
      if (entry != null) return CID.parse(entry.cid)
      const found = (await this.store.list(options)).find(m => `${m.name}@${m.version}` === ref)
      if (found == null) throw new ModuleNotFoundError(`no module ${ref} in the catalog or on this node`)
      return CID.parse(found.cid)
    }
    try {
      return CID.parse(ref)
    } catch {
      throw new InvalidRequestError(`"${ref}" is neither a CID nor name@version`)
    }
  }
}

