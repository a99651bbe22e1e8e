import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { ConnectResponse, HealthResponse, IdResponse, PeerEntry, StatusResponse } from '../lib/interface/api.js'
import { DialFailedError, InvalidMultiaddrError, ListenError, TimeoutError } from '../lib/interface/errors.js'
import { createNode, type NoodleNode } from '../lib/node/index.js'
import { loadConfig, type Config } from '../lib/repo/config.js'
import { initRepo, isInitialized } from '../lib/repo/init.js'
import { createHash } from 'node:crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadKey, loadOptionalKey } from '../lib/repo/keys.js'
import { redeemPendingTokens } from './pending-tokens.js'
import { loadOrCreateApiToken } from '../lib/repo/api-token.js'
import { loadSwarmKey } from '../lib/repo/swarm-key.js'
import { lockRepo, type RepoLock } from '../lib/repo/lock.js'
import { LevelBlockstore } from 'blockstore-level'
import { CachedDatastore } from '../lib/repo/cached-datastore.js'
import { PEER_STORE_PREFIX } from '../lib/repo/constants.js'
import { repoPaths, type RepoPaths } from '../lib/repo/paths.js'
import { VERSION } from '../lib/version.js'
import { ApiServer, checkSocketPath } from './api/server.js'
import type { ControlTarget } from './api/routes.js'
import { apiRoutes } from './api/all-routes.js'
import { DEFAULT_POLICY } from '../lib/runtime/grants.js'
import type { KnowledgeTarget } from './api/knowledge-routes.js'
import type { Knowledge } from '../lib/knowledge/knowledge.js'
import { analyzeWith, type ServiceCaller } from '../lib/knowledge/analyzer-service.js'
import { defaultLogger } from '@libp2p/logger'
import { GraphStore } from '../lib/knowledge/graph-store.js'
import { meshTriples } from '../lib/knowledge/mesh-graph.js'
import { Gateway } from './gateway.js'
import { UiServer } from './ui-server.js'
import { createLogger, type Logger } from './logger.js'
import { createMetrics, type DaemonMetrics } from './metrics.js'
import { applyFlags, checkFlags, type DaemonFlags } from './options.js'
import { timeoutSignal } from '../lib/signals.js'

export interface DaemonInit extends DaemonFlags {
  /** absolute repo path */
  repo: string
  /** defaults to pino on stderr at the configured level */
  logger?: Logger
}

/** Peers without a measured RTT on their connection get a live ping, bounded by this. */
const PEER_PING_TIMEOUT_MS = 1_000

/**
 * One running noodled: the repo (held exclusively), the libp2p node and the
 * control API. Built by `Daemon.start`, torn down by `stop` in reverse order.
 */
export class Daemon implements ControlTarget {
  readonly paths: RepoPaths
  readonly config: Config
  readonly node: NoodleNode
  readonly peerId: PeerId
  readonly log: Logger
  /** stale files removed at start because a previous daemon crashed */
  readonly cleaned: string[]
  /** settles once `stop` has finished */
  readonly stopped: Promise<void>

  private readonly lock: RepoLock
  private readonly datastore: CachedDatastore
  private readonly blocks: LevelBlockstore
  /** this daemon's knowledge graphs */
  readonly knowledge: GraphStore
  private readonly api: ApiServer
  private gateway?: Gateway
  private ui?: UiServer
  private readonly metricsState: DaemonMetrics
  private readonly startedAt = Date.now()
  private stopping?: Promise<void>
  private resolveStopped!: () => void

  private constructor (parts: { paths: RepoPaths, config: Config, node: NoodleNode, log: Logger, lock: RepoLock, metrics: DaemonMetrics, datastore: CachedDatastore, blocks: LevelBlockstore, knowledge: GraphStore }) {
    this.paths = parts.paths
    this.config = parts.config
    this.node = parts.node
    this.peerId = parts.node.peerId
    this.log = parts.log
    this.lock = parts.lock
    this.datastore = parts.datastore
    this.blocks = parts.blocks
    this.knowledge = parts.knowledge
    this.cleaned = parts.lock.cleaned
    this.metricsState = parts.metrics
    this.api = new ApiServer(apiRoutes({
      control: this,
      membership: parts.node.services.membership,
      registry: parts.node.services.registry,
      rpc: parts.node.services.rpc,
      modules: parts.node.services.modules,
      runtime: parts.node.services.runtime,
      auth: parts.node.services.auth,
      knowledge: knowledgeTarget(parts.knowledge, parts.node.services.knowledge!, parts.node.services.rpc),
      fusion: parts.node.services.fusion!
    }), parts.log)
    this.stopped = new Promise(resolve => { this.resolveStopped = resolve })
  }

  /**
   * Start a daemon on `init.repo`, initialising the repo with defaults if it
   * is new. Config and key problems are reported before anything in the repo
   * is touched; a repo in use is refused.
   */
  static async start (init: DaemonInit): Promise<Daemon> {
    const paths = repoPaths(init.repo)
    const flags = checkFlags(init)
    checkSocketPath(paths.apiSocket)
    if (!(await isInitialized(paths.root))) {
      await initRepo(paths.root)
    }
    const config = applyFlags(await loadConfig(paths.config), flags)
    const log = init.logger ?? createLogger(config.logLevel)
    const privateKey = await loadKey(paths.key)
    // a private mesh (noodled init --private): present means required
    const swarmKey = await loadSwarmKey(paths.swarmKey)
    // the machine that made a secure mesh holds its operator key (noodled init --operator / --private)
    const operatorKey = await loadOptionalKey(paths.operatorKey)

    const lock = await lockRepo(paths)
    for (const file of lock.cleaned) {
      log.warn({ file }, 'removed stale file left by a daemon that did not stop cleanly')
    }

    const metrics = createMetrics()
    // the peer store rewrites a peer's record on every stream; see CachedDatastore
    const datastore = new CachedDatastore(lock.datastore, { writeBehind: [PEER_STORE_PREFIX] })
    // module blocks: a LevelDB of their own beside the datastore, opened once the repo is ours
    const blocks = new LevelBlockstore(paths.blocks)
    // knowledge graphs: a LevelDB of their own too, checked graph by graph as it opens
    const knowledge = new GraphStore({ path: paths.knowledge, owner: peerIdFromPrivateKey(privateKey).toString(), key: privateKey, log: defaultLogger().forComponent('noodled:knowledge') })
    let node: NoodleNode | undefined
    let daemon: Daemon | undefined
    try {
      await blocks.open()
      // before the node: nothing may come between the node's start and watchNode below
      await knowledge.start()
      node = await createNode({
        privateKey,
        ...(swarmKey != null ? { swarmKey } : {}),
        datastore,
        blockstore: blocks,
        listen: config.listen,
        announce: config.announce,
        bootstrap: config.bootstrap,
        profile: config.profile,
        protocolPrefix: config.protocolPrefix,
        metrics: metrics.libp2p,
        rpc: config.rpc,
        knowledge: { store: knowledge, ...(config.knowledge.replicas != null ? { replicas: config.knowledge.replicas } : {}) },
        auth: {
          operators: config.auth.operators,
          ...(operatorKey != null ? { operatorKey } : {}),
          policy: config.runtime.policy,
          keys: { identity: peerIdFromPrivateKey(privateKey).toString(), ...(swarmKey != null ? { swarmKey: createHash('sha256').update(swarmKey).digest('hex').slice(0, 16) } : {}), ...(operatorKey != null ? { operator: peerIdFromPrivateKey(operatorKey).toString() } : {}) }
        },
        runtime: {
          policy: { ...DEFAULT_POLICY, ...config.runtime.policy },
          ...(config.runtime.instancesPerService != null ? { instancesPerService: config.runtime.instancesPerService } : {}),
          ...(config.runtime.probationMs != null ? { probationMs: config.runtime.probationMs } : {}),
          ...(config.runtime.spareWorkers != null ? { spareWorkers: config.runtime.spareWorkers } : {})
        },
        membership: {
          ...config.membership,
          timing: config.membership.timing ?? config.profile,
          labels: config.labels,
          repoPath: paths.root
        }
      })
      // the derived graph of the mesh reads the node's services; queries use it from now on
      const services = node.services
      knowledge.setMeshGraph(async () => meshTriples({
        self: peerIdFromPrivateKey(privateKey).toString(),
        members: services.membership.members(),
        services: services.registry.list(),
        modules: await services.modules.list({ signal: timeoutSignal(5_000) }).catch(() => []),
        // the catalog's graphs, whoever owns them, with the members that hold replicas
        graphs: services.knowledge != null
          ? services.knowledge.catalog.all().map(({ record: r }) => ({ iri: r.graph, version: r.version, hash: r.hash, quads: r.quads, owner: r.owner, holders: services.knowledge!.holders(r.graph, r.owner) }))
          : knowledge.list()
      }))
      daemon = new Daemon({ paths, config, node, log, lock, metrics, datastore, blocks, knowledge })
      // watch first: the bootstrapper's first retry warning comes within milliseconds of the start
      daemon.watchNode()
      await redeemPendingTokens(paths.pendingTokens, node.services.auth, log)
      await daemon.api.listen(paths.apiSocket)
      if (config.api != null) {
        await daemon.api.listenTcp(config.api, await loadOrCreateApiToken(paths.apiToken))
        const auth = node.services.auth
        daemon.api.onUnauthenticated = (detail) => { void auth.audit.append('api-unauthenticated', detail).catch(() => {}) }
      }
      if (config.gateway != null) {
        daemon.gateway = new Gateway(node.services.rpc, log, node.services.knowledge!, node.services.fusion)
        await daemon.gateway.listen(config.gateway)
      }
      if (config.ui != null) {
        daemon.ui = new UiServer({ api: daemon.api, token: await loadOrCreateApiToken(paths.apiToken), log })
        await daemon.ui.listen(config.ui)
      }
    } catch (err: any) {
      try {
        await daemon?.ui?.close()
        await daemon?.gateway?.close()
        await daemon?.api.close()
        await node?.stop()
        await datastore.close()
        await blocks.close()
        await knowledge.stop()
      } finally {
        await lock.release()
      }
      throw err?.name === 'UnsupportedListenAddressesError' ? listenError(err) : err
    }
    log.info({ peerId: daemon.peerId.toString(), addrs: daemon.id().addrs, profile: config.profile, repo: paths.root, gateway: daemon.gatewayUrl, ui: daemon.uiUrl, api: daemon.api.tcpUrl, private: swarmKey != null }, 'daemon started')
    return daemon
  }

  private watchNode (): void {
    const { node, log } = this
    node.services.bootstrapper.addEventListener('bootstrap:retry', (evt) => {
      const { addr, attempt, delayMs, error } = evt.detail
      log.warn({ addr, attempt, retryInMs: delayMs, error }, 'bootstrap peer unreachable; retrying with backoff')
    })
    node.services.bootstrapper.addEventListener('bootstrap:connected', (evt) => {
      log.info(evt.detail, 'connected to bootstrap peer')
    })
    node.services.bootstrapper.addEventListener('remembered:dialed', (evt) => {
      log.info(evt.detail, 'redialed peers remembered from an earlier run')
    })
    node.services.membership.addEventListener('member', (evt) => {
      const { type, peerId, incarnation } = evt.detail
      // joins and failures are what operators grep for; updates are debug noise
      const level = type === 'failed' || type === 'suspect' ? 'warn' : type === 'update' ? 'debug' : 'info'
      log[level]({ event: type, peerId, incarnation }, `member ${type}`)
    })
    node.addEventListener('peer:connect', (evt) => {
      log.debug({ peerId: evt.detail.toString() }, 'peer connected')
    })
    node.addEventListener('peer:disconnect', (evt) => {
      log.debug({ peerId: evt.detail.toString() }, 'peer disconnected')
    })
  }

  id (): IdResponse {
    return {
      peerId: this.peerId.toString(),
      addrs: this.node.getMultiaddrs().map(a => a.toString()),
      agentVersion: `noodled/${VERSION}`,
      protocols: this.node.getProtocols()
    }
  }

  status (): StatusResponse {
    return {
      peerId: this.peerId.toString(),
      version: VERSION,
      uptimeSec: this.uptimeSec(),
      peers: this.node.getPeers().length,
      repo: this.paths.root,
      profile: this.config.profile,
      pid: process.pid
    }
  }

  health (): HealthResponse {
    return { status: 'ok', uptimeSec: this.uptimeSec() }
  }

  private uptimeSec (): number {
    return Math.round((Date.now() - this.startedAt) / 1000)
  }

  /** One entry per connected peer (its first open connection), with RTT when known. */
  async peers (options: { signal: AbortSignal }): Promise<PeerEntry[]> {
    const byPeer = new Map<string, PeerEntry & { id: PeerId }>()
    for (const conn of this.node.getConnections()) {
      const key = conn.remotePeer.toString()
      if (conn.status !== 'open' || byPeer.has(key)) continue
      byPeer.set(key, {
        id: conn.remotePeer,
        peerId: key,
        addr: conn.remoteAddr.toString(),
        direction: conn.direction,
        ...(conn.rtt != null ? { latencyMs: conn.rtt } : {})
      })
    }
    await Promise.all([...byPeer.values()].filter(e => e.latencyMs == null).map(async e => {
      try {
        const signal = AbortSignal.any([options.signal, timeoutSignal(PEER_PING_TIMEOUT_MS)])
        e.latencyMs = await this.node.services.ping.ping(e.id, { signal })
      } catch (err) {
        // unknown latency is shown as such; the peer is still listed
        this.log.debug({ err, peerId: e.peerId }, 'ping for peer latency failed')
      }
    }))
    return [...byPeer.values()]
      .map(({ id, ...entry }) => entry)
      .sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  async connect (addr: string, options: { signal: AbortSignal }): Promise<ConnectResponse> {
    let ma
    try {
      ma = multiaddr(addr)
    } catch (err: any) {
      throw new InvalidMultiaddrError(`not a valid multiaddr: ${JSON.stringify(addr)} (${err.message})`)
    }
    try {
      const conn = await this.node.dial(ma, { signal: options.signal })
      return { peerId: conn.remotePeer.toString(), addr: conn.remoteAddr.toString() }
    } catch (err: any) {
      if (options.signal.aborted) {
        throw new TimeoutError(`dialing ${addr} timed out`)
      }
      throw new DialFailedError(`could not connect to ${addr}: ${err.message}`)
    }
  }

  async metrics (): Promise<string> {
    return this.metricsState.registry.metrics()
  }

  /** `http://HOST:PORT` of the TCP control API, when it serves one. */
  get apiUrl (): string | undefined {
    return this.api.tcpUrl
  }

  /** `http://HOST:PORT` of the gateway, when it serves one. */
  get gatewayUrl (): string | undefined {
    return this.gateway?.url
  }

  /** `http://HOST:PORT` of the web console, when it serves one. */
  get uiUrl (): string | undefined {
    return this.ui?.url
  }

  requestShutdown (): void {
    this.log.info('shutdown requested through the control API')
    void this.stop()
  }

  /** Stop everything in reverse order of start. Idempotent. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.ui?.close()
        await this.gateway?.close()
        await this.api.close()
        await this.node.stop()
        await this.datastore.close()
        await this.blocks.close()
        await this.knowledge.stop()
      } finally {
        await this.lock.release()
        this.metricsState.registry.clear()
        this.log.info('daemon stopped')
        this.resolveStopped()
      }
    })()
    return this.stopping
  }
}

/** libp2p lists each failed address with a stack trace; keep `addr: reason` lines only. */
function listenError (err: Error): ListenError {
  const reasons = [...err.message.matchAll(/^\s*(\/\S+): (?:\w*Error: )?(.+)$/gm)].map(m => `${m[1]}: ${m[2]}`)
  return new ListenError(`cannot listen on ${reasons.length > 0 ? reasons.join('; ') : err.message}`)
}

/** The control API's view of the knowledge graphs: writes and `about` on the store, queries and the mesh's graphs through the service. */
function knowledgeTarget (store: GraphStore, service: Knowledge, rpc: ServiceCaller): KnowledgeTarget {
  return {
    list: () => store.list(),
    meshGraphs: () => service.catalog.all().map(({ record: r }) => ({ graph: r.graph, owner: r.owner, version: r.version, hash: r.hash, quads: r.quads, at: r.at, holders: service.holders(r.graph, r.owner) }))
      .sort((a, b) => a.graph.localeCompare(b.graph)),
    stats: () => service.stats(),
    add: async (name, data, options) => await store.add(name, data, options),
    addText: async (name, text, options) => {
      // a named analyzer is a mesh service, called wherever it runs; the built-in one runs here
      const found = options.analyzer != null ? await analyzeWith(rpc, options.analyzer, text, options.source != null ? { source: options.source } : {}) : undefined
      return await store.addText(name, text, { ...(options.source != null ? { source: options.source } : {}), ...(found != null ? { found } : {}) })
    },
    update: async (name, sparql) => await store.update(name, sparql),
    query: async (sparql, options) => await service.query(sparql, options),
    about: async (nameOrIri, options) => await service.about(nameOrIri, options)
  }
}
