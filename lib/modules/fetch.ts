import { setTimeout as sleep } from 'node:timers/promises'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { FetchedModuleView, ModuleFetchProgressView } from '../interface/api.js'
import { BlockUnavailableError, BlockVerificationError } from '../interface/errors.js'
import { BlockFetchSession, type ProviderReport } from './block-fetcher.js'
import type { BlockStreams } from './block-streams.js'
import { CHUNK_BYTES } from './constants.js'
import { decodeRoot, verifyWasm } from './content.js'
import type { ProviderPenalties } from './penalties.js'
import type { ModuleStore } from './store.js'

/** Emit progress at most this often (and always at a module's end). */
const PROGRESS_INTERVAL_MS = 100
/**
 * Rounds in a row a fetch may end without a new block before it fails.
 * A round ends when no provider it found is left; it is tried again (see
 * ModuleFetcher) only while some provider was busy rather than lacking.
 */
export const FETCH_IDLE_ROUNDS = 4
/** Before round k without a new block: k times this, jittered (0.5-1.5x); 250 ms after a round that made progress. */
export const FETCH_ROUND_BACKOFF_MS = 1_000

export interface ModuleFetcherInit {
  store: ModuleStore
  streams: BlockStreams
  self: PeerId
  penalties: ProviderPenalties
  log: Logger
  /** peers that may hold a module, best first (those named likely holders, the publisher, a DHT provider walk, then neighbours) */
  providers: (root: CID, signal: AbortSignal, likelyHolders?: PeerId[]) => AsyncIterable<PeerId>
  /** offer a module this node now holds */
  announce: (root: CID) => void
}

export interface FetchOneOptions extends AbortOptions {
  /** name@version the catalog gives this CID, checked against the fetched manifest */
  id?: string
  index?: number
  count?: number
  onProgress?: (progress: ModuleFetchProgressView) => void
  /**
   * Peers the caller knows hold the module, asked before anyone else: for a
   * service's new owner, the members already running it (the publisher, asked
   * next, may be the busiest member or gone).
   */
  likelyHolders?: PeerId[]
}

/**
 * Makes one module version whole on this node: its root block, then its
 * wasm chunks, from whichever providers have them (BlockFetchSession),
 * every block verified as it arrives and the whole binary once more at the
 * end; then it is indexed, pinned and offered to others on the DHT.
 *
 * A session that runs out of providers while some were busy (timed out,
 * unreachable, stream failed) or while it was still getting blocks is not
 * the end: the fetch starts another round, with the blocks it has kept, and
 * a new provider search. When many members fetch one module at once, the
 * publisher times out for most and the others hold only part of it yet, so
 * a single round would fail most of them. A
 * round in which every provider lacked the blocks (an unknown CID) fails
 * at once, as do FETCH_IDLE_ROUNDS rounds in a row without a block.
 */
export class ModuleFetcher {
  private readonly init: ModuleFetcherInit

  constructor (init: ModuleFetcherInit) {
    this.init = init
  }

  async fetch (root: CID, options: FetchOneOptions = {}): Promise<FetchedModuleView> {
    const started = performance.now()
    const { store } = this.init
    const progress: ModuleFetchProgressView = { module: options.id ?? root.toString(), cid: root.toString(), index: options.index ?? 1, count: options.count ?? 1, blocksDone: 0, blocksTotal: 0, bytesDone: 0, bytesTotal: 0 }
    let lastReport = 0
    const report = (force: boolean): void => {
      const now = performance.now()
      if (options.onProgress == null || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return
      lastReport = now
      options.onProgress({ ...progress })
    }
    let fetchedBlocks = 0
    let fetchedBytes = 0
    /** chunks as they arrive (verified), for the check of the whole binary without reading them back */
    const arrived = new Map<string, Uint8Array>()
    /** chunks count towards progress; the root, fetched before the totals are known, is counted with them */
    let counting = false
    const newSession = (): BlockFetchSession => new BlockFetchSession({
      streams: this.init.streams,
      self: this.init.self,
      penalties: this.init.penalties,
      log: this.init.log,
      put: async (cid, bytes, opts) => {
        await store.putBlock(cid, bytes, opts)
        arrived.set(cid.toString(), bytes)
      },
      onBlock: (_cid, bytes) => {
        fetchedBlocks++
        fetchedBytes += bytes
        if (!counting) return
        progress.blocksDone++
        progress.bytesDone += bytes
        report(false)
      }
    }, options.signal)
    /** the providers of rounds that ended */
    const earlier: ProviderReport[] = []
    let session = newSession()
    let searching = false
    let idleRounds = 0
    const get = async (cids: CID[], roots = false): Promise<void> => {
      while (true) {
        const todo = cids.filter(c => !arrived.has(c.toString()))
        if (todo.length === 0) return
        if (!searching) {
          searching = true
          session.start(this.init.providers(root, session.signal, options.likelyHolders))
        }
        const before = fetchedBlocks
        try {
          await session.get(todo, { withLink: roots })
          return
        } catch (err) {
          if (!(err instanceof BlockUnavailableError) || options.signal?.aborted === true) throw err
          const ended = session.providerReports()
          const progressed = fetchedBlocks > before
          const busy = ended.some(r => r.outcome === 'timeout' || r.outcome === 'unreachable' || r.outcome === 'error')
          idleRounds = progressed ? 0 : idleRounds + 1
          if ((!progressed && !busy) || idleRounds >= FETCH_IDLE_ROUNDS) throw err
          earlier.push(...ended)
          session.close()
          const wait = progressed ? 250 : FETCH_ROUND_BACKOFF_MS * idleRounds * (0.5 + Math.random())
          this.init.log('fetch of %s: no provider left with %d blocks to go (%s); another round in %d ms', root, todo.length - (fetchedBlocks - before), progressed ? 'some came' : 'some were busy', Math.round(wait))
          await sleep(wait, undefined, options.signal != null ? { signal: options.signal } : {})
          session = newSession()
          searching = false
        }
      }
    }
    let node
    try {
      if (!(await store.has(root, options))) await get([root], true)
      const rootBlock = arrived.get(root.toString()) ?? await store.getBlock(root, options)
      node = decodeRoot(rootBlock)
      const { size, chunks } = node.wasm
      progress.module = `${node.manifest.name}@${node.manifest.version}`
      progress.blocksTotal = 1 + chunks.length
      progress.bytesTotal = rootBlock.byteLength + size
      progress.blocksDone = 1
      progress.bytesDone = rootBlock.byteLength
      const missing: CID[] = []
      for (const [i, cid] of chunks.entries()) {
        if (!(await store.has(cid, options))) {
          missing.push(cid)
          continue
        }
        progress.blocksDone++
        progress.bytesDone += Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES)
      }
      counting = true
      report(true)
      await get(missing)
    } finally {
      session.close()
    }
    if (options.id != null && options.id !== `${node.manifest.name}@${node.manifest.version}`) {
      throw new BlockVerificationError(`the catalog names ${root.toString()} ${options.id}, but its manifest says ${node.manifest.name}@${node.manifest.version}`)
    }
    // every chunk was checked on arrival; this checks the binary they make against the root
    const chunks = await Promise.all(node.wasm.chunks.map(async cid => arrived.get(cid.toString()) ?? await store.getBlock(cid, options)))
    verifyWasm(root, node, chunks)
    const manifest = node.manifest
    await store.keep(manifest, root, options)
    if (fetchedBlocks > 0) this.init.announce(root)
    progress.blocksDone = progress.blocksTotal
    progress.bytesDone = progress.bytesTotal
    report(true)
    return {
      name: manifest.name,
      version: manifest.version,
      cid: root.toString(),
      size: node.wasm.size,
      pinned: true,
      blocks: progress.blocksTotal,
      fetchedBlocks,
      fetchedBytes,
      providers: [...earlier, ...session.providerReports()],
      ms: Math.round(performance.now() - started)
    }
  }
}
