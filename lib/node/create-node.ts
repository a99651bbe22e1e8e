import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { coalescedTcp } from './coalesced-tcp.js'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { ComponentLogger, ConnectionGater, Metrics, PrivateKey } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { AGENT_VERSION, VERSION } from '../version.js'
import type { ProfileName } from '../repo/config.js'
import { membership, type Membership, type MembershipInit } from '../membership/index.js'
import { registry, type Registry, type RegistryInit } from '../registry/index.js'
import { rpc, type Rpc, type RpcInit } from '../rpc/index.js'
import { modules, type Modules } from '../modules/index.js'
import { runtime, type Runtime, type RuntimeInit } from '../runtime/index.js'
import { auth, type Auth, type AuthInit } from '../auth/index.js'
import { meshScoring } from './scoring.js'
import { SERVICE_RECORD_NAMESPACE, selectServiceRecord, validateServiceRecord } from '../registry/dht-record.js'
import { bootstrapper, type Bootstrapper, type BootstrapperInit } from './bootstrapper.js'
import { KAD_PROTOCOL_SUFFIX } from './constants.js'
import { fastMsgId } from './fast-msg-id.js'
import { PROFILES } from './profiles.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'
import { knowledge, type Knowledge, type KnowledgeInit } from '../knowledge/index.js'
import { fusion, type FusionEngine, type FusionInit } from '../fusion/index.js'

export type NoodleServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht: KadDHT
  bootstrapper: Bootstrapper
  membership: Membership
  registry: Registry
  auth: Auth
  rpc: Rpc
  modules: Modules
  runtime: Runtime
  /** present when the node was given a knowledge store (the daemon always is) */
  knowledge?: Knowledge
  /** the cross-modal fusion engine: present with the knowledge graphs, where it keeps its tasks and provenance */
  fusion?: FusionEngine
}

export type NoodleNode = Libp2p<NoodleServices>

export interface NodeInit {
  /** the node's identity; a fresh Ed25519 key when absent (tests) */
  privateKey?: PrivateKey
  /** persistent peer store and DHT records; in-memory when absent */
  datastore?: Datastore
  /** module blocks; in-memory when absent */
  blockstore?: Blockstore
  /** the module runtime: node policy, instances per service */
  runtime?: RuntimeInit
  /** capability tokens, operators and the audit trail */
  auth?: Omit<AuthInit, 'protocolPrefix'>
  /** knowledge graphs across the mesh (lib/knowledge): off unless given a store */
  knowledge?: Omit<KnowledgeInit, 'protocolPrefix'>
  /** the fusion engine (lib/fusion), on whenever the knowledge graphs are */
  fusion?: FusionInit
  /** @default ['/ip4/0.0.0.0/tcp/4010'] */
  listen?: string[]
  /** addresses to announce instead of the listen addresses (NAT, containers) */
  announce?: string[]
  bootstrap?: string[]
  /** @default 'lan' */
  profile?: ProfileName
  /** prefix of our protocol ids. @default '/noodle' */
  protocolPrefix?: string
  bootstrapper?: Omit<BootstrapperInit, 'list'>
  /** gossip membership and failure detection; timing follows the profile unless set */
  membership?: Omit<MembershipInit, 'protocolPrefix'>
  /** service registry: catalog sync, reconciliation, DHT use */
  registry?: Omit<RegistryInit, 'protocolPrefix'>
  /** mesh RPC: message size limit */
  rpc?: Omit<RpcInit, 'protocolPrefix'>
  metrics?: (components: any) => Metrics
  /** a private mesh's swarm key (@libp2p/pnet): only nodes holding the same key connect */
  swarmKey?: Uint8Array
  /** deny connections by peer or address (admission control; tests cut links with it) */
  connectionGater?: ConnectionGater
  logger?: ComponentLogger
  /** @default true */
  start?: boolean
}

/** `/noodle` -> `noodle`: identify and ping take the prefix without its leading slash. */
function bareProtocolPrefix (prefix: string): string {
  return prefix.replace(/^\//, '')
}

/**
 * Compose the libp2p node (docs/design.md): TCP + Noise + Yamux, identify,
 * ping, gossipsub, a server-mode kad-dht on our own protocol id (never the
 * public IPFS DHT) that keeps private and loopback addresses, and the
 * bootstrapper. Gossipsub keeps its standard `/meshsub/*` ids because its
 * feature negotiation is keyed on them.
 */
export async function createNode (init: NodeInit = {}): Promise<NoodleNode> {
  const profile = PROFILES[init.profile ?? 'lan']
  const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
  const bare = bareProtocolPrefix(prefix)

  return createLibp2p<NoodleServices>({
    start: init.start ?? true,
    privateKey: init.privateKey,
    datastore: init.datastore,
    logger: init.logger,
    nodeInfo: { name: 'noodled', version: VERSION, userAgent: AGENT_VERSION },
    addresses: {
      listen: init.listen ?? ['/ip4/0.0.0.0/tcp/4010'],
      announce: init.announce ?? []
    },
    transports: [coalescedTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: profile.connectionManager,
    ...(init.connectionGater != null ? { connectionGater: init.connectionGater } : {}),
    // a private mesh: every connection is encrypted with the swarm key before Noise; a peer
    // without it fails the exchange (5 s, not pnet's 1 s: a busy host's handshake takes longer)
    ...(init.swarmKey != null ? { connectionProtector: preSharedKey({ psk: init.swarmKey, timeout: 5_000 }) } : {}),
    // membership probes every member over these same connections (and finds
    // dead ones); libp2p's monitor pinged every connection every 10 s on top,
    // a stream and a peer-store write each time, so it is off
    connectionMonitor: { enabled: false, protocolPrefix: bare },
    metrics: init.metrics,
    services: {
      identify: identify({ protocolPrefix: bare }),
      // the connection monitor pings on the same protocol; with ping's default of one
      // outbound stream, latency probes from `noodled peers` failed while the
      // monitor's stream was still closing (seen here), so allow a few
      ping: ping({ protocolPrefix: bare, maxOutboundStreams: 4, maxInboundStreams: 8 }),
      pubsub: gossipsub({
        ...profile.gossipsub,
        // peer scoring on our topics where peers are on their own hosts (see scoring.ts)
        ...(profile.scoring ? meshScoring(prefix) : {}),
        // every noodled speaks gossipsub; floodsub would only widen the attack surface
        fallbackToFloodsub: false,
        // a lone node still publishes its adverts; nobody hearing them is not an error
        allowPublishToZeroTopicPeers: true,
        // every member publishes an advert per second, so duplicates dominate the
        // traffic: publish to the mesh only and keep the mesh smaller than the
        // defaults (D 6, Dlo 4, Dhi 12). Measured at 10 in-process nodes: message
        // copies received per node 54/s -> 22/s with D = 3.
        fastMsgIdFn: fastMsgId,
        floodPublish: false,
        D: 4,
        Dlo: 3,
        Dhi: 6,
        Dlazy: 4,
        Dout: 2,
        // IDONTWANT (gossipsub 1.2) would answer every advert with a control
        // message to each mesh peer; for messages this small that doubles the
        // traffic instead of saving it
        idontwantMinDataSize: 16 * 1024,
        // adverts are signed; the sender is always known
        globalSignaturePolicy: 'StrictSign'
      }),
      dht: kadDHT({
        protocol: `${prefix}${KAD_PROTOCOL_SUFFIX}`,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        // catalog entries are stored under /noodle/service/<name>, signed by their author
        validators: { [SERVICE_RECORD_NAMESPACE]: validateServiceRecord },
        selectors: { [SERVICE_RECORD_NAMESPACE]: selectServiceRecord },
        logPrefix: 'noodled:dht',
        metricsPrefix: 'noodled_dht'
      }),
      bootstrapper: bootstrapper({ ...init.bootstrapper, list: init.bootstrap ?? [] }),
      membership: membership({
        timing: profile.name,
        version: VERSION,
        ...init.membership,
        protocolPrefix: prefix
      }),
      // before the catalogs that use it: its tokens and audit trail are loaded by the time they merge
      auth: auth({ ...init.auth, protocolPrefix: prefix }),
      registry: registry({ ...init.registry, protocolPrefix: prefix }),
      rpc: rpc({ ...init.rpc, protocolPrefix: prefix }),
      modules: modules({ ...(init.blockstore != null ? { blockstore: init.blockstore } : {}), protocolPrefix: prefix }),
      runtime: runtime({ ...init.runtime, protocolPrefix: prefix }),
      ...(init.knowledge != null ? { knowledge: knowledge({ ...init.knowledge, protocolPrefix: prefix }), fusion: fusion(init.fusion) } : {})
    }
  })
}
