/**
 * Control API contract (HTTP/JSON on `$NOODLE_PATH/api.sock`). These are the
 * shapes the daemon returns and the CLI prints with `--json`. Documented for
 * other languages in docs/openapi.yaml.
 */

export const API_PREFIX = '/api/v1'

export interface IdResponse {
  peerId: string
  /** full multiaddrs including `/p2p/<peerId>`: what other machines bootstrap from */
  addrs: string[]
  agentVersion: string
  protocols: string[]
}

export interface StatusResponse {
  peerId: string
  version: string
  uptimeSec: number
  peers: number
  repo: string
  profile: string
  pid: number
}

export interface PeerEntry {
  peerId: string
  addr: string
  direction: 'inbound' | 'outbound'
  latencyMs?: number
}

export interface ConnectRequest {
  addr: string
}

export interface ConnectResponse {
  peerId: string
  addr: string
}

export interface HealthResponse {
  status: 'ok'
  uptimeSec: number
}

export interface ShutdownResponse {
  stopping: true
}

export interface ErrorBody {
  error: { name: string, message: string }
}

export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left'
export type MemberEventType = 'join' | 'update' | 'suspect' | 'failed' | 'left' | 'recovered'

/**
 * Why a member was suspected or failed: this node's probe got no answer
 * (`no-ack`) or its dial was refused (`refused`), another member's claim
 * arrived (`claim`), or this node's suspicion ran out unrefuted (`timeout`).
 */
export type VerdictReason = 'no-ack' | 'refused' | 'claim' | 'timeout'

export interface MemberResources {
  cpus: number
  load1: number
  load5: number
  load15: number
  memTotal: number
  memFree: number
  loopLagMs: number
  slotsTotal: number
  slotsUsed: number
  diskFree: number
}

/** One row of `noodled members --json` (this node included, with `self: true`). */
export interface MemberView {
  peerId: string
  self: boolean
  status: MemberStatus
  incarnation: number
  /** ms since the newest advert or successful probe; 0 for self */
  lastSeenMs: number
  /** ms in the current status */
  statusForMs: number
  rttMs?: number
  addrs: string[]
  resources: MemberResources
  labels: Record<string, string>
  services: string[]
  version: string
  /** members that suspect it, while suspect */
  suspectedBy?: number
}

export interface MemberEventView {
  type: MemberEventType
  peerId: string
  status: MemberStatus
  incarnation: number
  /** ISO time */
  time: string
  /** suspect and failed events: the member whose evidence this is (this node's own id for its own probes and timeouts) */
  by?: string
  /** suspect and failed events: what the verdict rests on */
  reason?: VerdictReason
}

export interface MembershipStats {
  members: number
  alive: number
  incarnation: number
  /** Lifeguard's local health score (0-8): every failure-detector timeout here is multiplied by 1 + this */
  localHealth: number
  /** what the score is made of: missed probes and refutations, event-loop lag, host load (their sum is capped at 8) */
  localHealthParts: { probe: number, lag: number, load: number }
  advertsSent: number
  advertsReceived: number
  claimsSent: number
  claimsReceived: number
  bytesSent: number
  bytesReceived: number
  probes: number
  probesFailed: number
  indirectProbes: number
  /** failed claims about a member whose own advert since its suspicion was already here */
  claimsIgnored: number
  /** indirect probes where some helper did not answer at all (Lifeguard: raises local health) */
  missedNacks: number
  /** suspicions that ran out but whose member answered this node's last direct probe (kept alive) */
  lastChanceAlive: number
  /** newcomers' (and recovered members') adverts this node passed on to the mesh after they pushed them with a pull */
  advertsRelayed: number
  rejected: Record<string, number>
  /** this node's partial view: members it probes, members that probe it, random members kept */
  view: { successors: string[], predecessors: string[], random: string[], connections: number }
}

export interface LabelsResponse {
  labels: Record<string, string>
}

/** A service spec as the control API returns it (see lib/placement/spec.ts for the rules). */
export interface ServiceSpecView {
  name: string
  replicas: number
  requirements: { cpu: number, memoryMb: number, slots: number, labels: Record<string, string> }
  spread?: string
  module?: string
}

/** `GET /api/v1/services[/NAME]` */
export interface ServiceStatusView {
  name: string
  replicas: number
  spec: ServiceSpecView
  /** owners computed from the answering node's membership view, closest first */
  owners: string[]
  /** live instances: the owners' replicas and external instances registered on any member */
  instances: InstanceView[]
}

/**
 * An instance of a service: a replica placement gave to an owner, an
 * external process registered beside a member (`noodled service register`),
 * or a provider record found on the DHT for a service this node knows nothing
 * else about.
 */
export type InstanceKind = 'replica' | 'external' | 'provider'

export interface InstanceView {
  peerId: string
  kind: InstanceKind
  /** routable now: its member is alive (or is this node) and, for an external instance, its check passes */
  healthy: boolean
  /** the member's status as this node sees it ('alive' for this node itself) */
  memberStatus: MemberStatus
  /** the member's adverts list the service (adverts carry at most 64 names) */
  announced: boolean
}

/** `GET /api/v1/resolve/NAME` */
export interface ResolveView {
  name: string
  /** the service is in the catalog (placed replicas) */
  declared: boolean
  /** where the instances came from: local state (catalog, membership, adverts), or the DHT's provider records */
  source: 'local' | 'dht'
  instances: InstanceView[]
}

/** `POST /api/v1/call`: one mesh call. The input is `input` (UTF-8 text) or `inputBase64`. */
export interface CallRequest {
  service: string
  fn: string
  input?: string
  inputBase64?: string
  /** deadline from now, ms. @default 10000 */
  timeoutMs?: number
  /** may be retried on another instance if its instance fails */
  idempotent?: boolean
}

export interface CallResponse {
  service: string
  fn: string
  /** peer id of the instance that answered */
  instance: string
  attempts: number
  elapsedMs: number
  /** the output as text when it is valid UTF-8 */
  output?: string
  outputBase64: string
}

/** `GET /api/v1/rpc/stats` */
export interface RpcStatsView {
  client: { calls: number, succeeded: number, failed: number, retries: number, localCalls: number, ejections: number }
  server: { served: number, serveErrors: number, deadlineExceeded: number, malformedFrames: number }
}

/** `GET /api/v1/external`, `POST /api/v1/external` */
export interface ExternalServiceView {
  name: string
  endpoint: string
  check?: { type: 'http', path: string, intervalMs: number, timeoutMs: number } | { type: 'tcp', intervalMs: number, timeoutMs: number } | { type: 'ttl', ttlMs: number }
  status: 'passing' | 'critical'
  output: string
  /** ISO time of the last status change */
  since: string
  /** ISO time of the last check or ttl pass */
  checkedAt?: string
}

/** `POST /api/v1/services[?dryRun=1]`, `POST /api/v1/services/NAME/scale` */
export interface DeployResultView {
  name: string
  owners: string[]
  /** replicas of all services that change owner */
  moves: number
  dryRun: boolean
}

/** `GET /api/v1/placement/NAME` */
export interface PlacementExplanationView {
  service: string
  replicas: number
  owners: string[]
  /** the load cap: ceil((1 + e) x average replicas per eligible member) */
  cap: number
  members: Array<{ peerId: string, rank: number, distance: string, load: number, chosen: boolean, reason: string }>
}

/**
 * A drained member carries this label (`noodled drain` sets it, `undrain`
 * removes it): placement gives it no replicas, so its services move away.
 * A label rather than an advert field: it travels with the labels, which
 * every version already advertises and persists.
 */
export const DRAIN_LABEL = 'noodle/draining'

/** A module version as `module publish` reports it. */
export interface PublishedModuleView {
  name: string
  version: string
  /** root CID: identifies this module version on every machine */
  cid: string
}

/** A module version stored on this node. */
export interface LocalModuleView extends PublishedModuleView {
  /** bytes of wasm */
  size: number
  pinned: boolean
}

/** A module version in the mesh's catalog (`module ls`), and whether this node holds its blocks. */
export interface ModuleListView extends PublishedModuleView {
  /** peer id of the publisher ('' when only this node's store knows it) */
  publisher: string
  /** ISO time of the publish ('' when unknown) */
  publishedAt: string
  dependencies: Record<string, string>
  /** this node holds the module's blocks */
  stored: boolean
  pinned: boolean
}

/** `module resolve`: the versions chosen, dependencies first, and the lockfile. */
export interface ModuleResolutionView {
  root: string
  order: string[]
  lock: Record<string, string>
  graph: Record<string, string[]>
}

/** One module version in detail (`module info`). */
export interface ModuleInfoView extends LocalModuleView {
  manifest: Record<string, unknown>
  /** the wasm's own CID (raw, sha2-256 of the whole binary) and the blocks it is stored in */
  wasm: { cid: string, size: number, chunks: string[] }
}

/** `module gc`. */
export interface ModuleGcView {
  removedBlocks: number
  freedBytes: number
}

/** One provider in a module fetch, and what it did (see ProviderOutcome in lib/modules/block-fetcher.ts). */
export interface FetchProviderView {
  peerId: string
  blocks: number
  bytes: number
  outcome?: string
  reason?: string
}

/** One module version a fetch made sure of. */
export interface FetchedModuleView extends LocalModuleView {
  /** blocks in the module (root and wasm chunks) */
  blocks: number
  /** of them, fetched from peers now (0: all were here) */
  fetchedBlocks: number
  fetchedBytes: number
  providers: FetchProviderView[]
  ms: number
}

/** `module fetch`: the module and its dependencies, dependencies first; all verified, stored and pinned here. */
export interface ModuleFetchView {
  root: string
  modules: FetchedModuleView[]
  fetchedBytes: number
  ms: number
}

/** Progress of `module fetch`, for the module being fetched now. */
export interface ModuleFetchProgressView {
  /** name@version, or the CID when the catalog does not know it */
  module: string
  cid: string
  /** 1-based position of this module in the fetch, and how many there are */
  index: number
  count: number
  blocksDone: number
  /** 0 until the root block is here */
  blocksTotal: number
  bytesDone: number
  bytesTotal: number
}

/** Lines of the `POST /modules/<ref>/fetch` NDJSON answer. */
export type ModuleFetchEvent = { type: 'progress', progress: ModuleFetchProgressView } | { type: 'done', result: ModuleFetchView } | { type: 'error', error: ErrorBody['error'] }

/** A module service this node runs (`GET /api/v1/runtime`, `noodled runtime`). */
export interface RuntimeServiceView {
  service: string
  /** the spec's name@range */
  ref: string
  state: 'loading' | 'running' | 'failed'
  /** name@version and root CID of what runs (once resolved) */
  module?: string
  cid?: string
  /** what the module may do here: requested ∩ this node's policy; `withheld` is what it asked for and did not get */
  grant?: { log: boolean, kv: boolean, call: string[], http: string[], paths: string[], memoryPages: number, timeoutMs: number, withheld: string[] }
  /** instances (worker threads) running now */
  instances: number
  /** worker slots it holds here: the most instances it may run (the spec's `requirements.slots`, else the node's instancesPerService, within the slots left) */
  slots: number
  counters?: { calls: number, errors: number, timeouts: number, traps: number, denied: number, restarts: number, overruns: number, recovered: number, totalMs: number }
  error?: string
  since: string
  /** set while a version that replaced another is watched for an error-rate spike (ISO time it ends); the next owner's swap waits for it */
  probationUntil?: string
  /**
   * versions this node has loaded for the service, oldest first: `running`, `replaced` (by a newer one),
   * `failed`, `rolled back` (it failed its start, its health check or its probation; the version before
   * kept or took back the calls), or `halted` (not started here: the owner before this one rolled it back)
   */
  history: Array<{ module: string, cid: string, at: string, outcome: 'running' | 'replaced' | 'failed' | 'rolled back' | 'halted', error?: string }>
}

/** One owner's view of a module service (`GET /api/v1/runtime/<service>/history`, `noodled service history`). */
export interface RuntimeOwnerView {
  peerId: string
  /** null when it runs nothing for the service, or could not be asked (`error`) */
  view: RuntimeServiceView | null
  error?: string
}
