import type { GossipSub } from '@libp2p/gossipsub'
import { serviceDependencies, serviceCapabilities, type ComponentLogger, type Libp2pEvents, type Logger, type PeerId, type PrivateKey, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { Key, type Datastore } from 'interface-datastore'
import { AuditLog, type AuditType } from '../audit/log.js'
import { canonicalJson, digestOf } from '../canonical-json.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'
import { UnauthorizedError } from '../interface/errors.js'
import type { Replicator } from '../replication/index.js'
import type { Ability } from './abilities.js'
import { Authority, type Authorized, type DelegateInput } from './authority.js'
import type { Revocation } from './revocation.js'
import { revocationReplication, type RevocationDigest } from './revocation-replication.js'
import type { TokenSummary } from './token.js'
import { lifetimeController } from '../signals.js'

export interface AuthInit {
  /** did:keys (or Ed25519 peer ids) of the operators; none: nothing is enforced */
  operators?: string[]
  operatorKey?: PrivateKey
  /** recorded in the audit trail at start, and again whenever it changes */
  policy?: unknown
  /** fingerprints of this node's keys (identity, swarm key), audited when they change */
  keys?: Record<string, string>
  protocolPrefix?: string
  /** @default REVOCATION_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
}

export interface AuthComponents {
  peerId: PeerId
  privateKey: PrivateKey
  datastore: Datastore
  pubsub: GossipSub
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

const LAST_START = new Key('/noodle/audit/last-start')
/** Anti-entropy of revocations: a random neighbour is pulled from this often. */
const REVOCATION_SYNC_INTERVAL_MS = 30_000

/**
 * Security on a node: its capability tokens (see Authority), the audit
 * trail, and the spreading of revocations (gossip on every revoke, push-pull
 * with connected members, a pull from a random one every 30 s, so a node
 * that was away catches up).
 */
export class Auth implements Startable {
  readonly authority: Authority
  readonly audit: AuditLog
  readonly counters = { denied: 0, accepted: 0, revocationsRejected: 0 }
  /** gossip, push-pull and anti-entropy of revocations (see revocation-replication.ts) */
  readonly replication: Replicator<RevocationDigest>
  private readonly components: AuthComponents
  private readonly init: AuthInit
  private readonly log: Logger
  private controller?: AbortController
  private started = false

  constructor (components: AuthComponents, init: AuthInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('noodled:auth')
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.authority = new Authority({ key: components.privateKey, operators: init.operators ?? [], datastore: components.datastore, ...(init.operatorKey != null ? { operatorKey: init.operatorKey } : {}) })
    this.audit = new AuditLog({ datastore: components.datastore })
    this.replication = revocationReplication(components, {
      holder: {
        revocations: () => this.authority.revocations(),
        take: async (value, options) => await this.takeRevocation(value, options),
        rejected: () => { this.counters.revocationsRejected++ }
      },
      protocolPrefix: prefix,
      syncIntervalMs: init.syncIntervalMs ?? REVOCATION_SYNC_INTERVAL_MS,
      log: this.log
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/auth'
  readonly [serviceCapabilities]: string[] = ['noodled:auth']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub']

  get enabled (): boolean {
    return this.authority.enabled
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.controller = lifetimeController()
    const signal = this.controller.signal
    await this.audit.start({ signal })
    await this.authority.start({ signal })
    await this.auditStart(signal)
    await this.replication.start()
    this.started = true
  }

  /** Key and policy changes since the last start are audited as such. */
  private async auditStart (signal: AbortSignal): Promise<void> {
    const now = { did: this.authority.did, operators: [...this.authority.operators], keys: this.init.keys ?? {}, policy: digestOf(this.init.policy ?? null) }
    let last: typeof now | undefined
    try { last = JSON.parse(new TextDecoder().decode(await this.components.datastore.get(LAST_START, { signal }))) } catch {}
    await this.audit.append('start', { did: now.did, operators: now.operators, enforcing: this.enabled }, { signal })
    if (last != null && (last.did !== now.did || canonicalJson(last.keys) !== canonicalJson(now.keys) || canonicalJson(last.operators) !== canonicalJson(now.operators))) {
      await this.audit.append('key', { before: { did: last.did, operators: last.operators, keys: last.keys }, after: { did: now.did, operators: now.operators, keys: now.keys } }, { signal })
    }
    if (last != null && last.policy !== now.policy) await this.audit.append('policy', { policy: this.init.policy ?? null }, { signal })
    await this.components.datastore.put(LAST_START, new TextEncoder().encode(JSON.stringify(now)), { signal })
  }

  afterStart (): void {
    this.replication.afterStart()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.controller?.abort()
    await this.replication.stop()
  }

  /** Asks a peer for the revocations this node lacks; the number taken. */
  async pull (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.replication.pull(peer, options)
  }

  /** A revocation from a peer: verified and kept by the authority, and audited when new. */
  private async takeRevocation (value: unknown, options: { signal?: AbortSignal }): Promise<boolean> {
    if (!await this.authority.accept(value, options)) return false
    const r = value as Revocation
    await this.audit.append('revocation-received', { id: r.id, by: r.by })
    return true
  }

  // ---- writes ------------------------------------------------------------

  /** A local mesh-level write: the invocation it carries (undefined when nothing is enforced). Denials are audited. */
  async authorize (can: Ability, resource: string, value: unknown, type: AuditType): Promise<string | undefined> {
    const digest = digestOf(value)
    try {
      const auth = await this.authority.invoke(can, resource, digest)
      if (this.enabled) await this.audit.append(type, { can, with: resource, digest, by: this.authority.did, token: this.authority.proofId(can, resource), local: true })
      return auth
    } catch (err: any) {
      if (err instanceof UnauthorizedError) await this.deny({ can, resource, author: this.components.peerId.toString(), reason: err.message, local: true })
      throw err
    }
  }

  /** A write from a peer: verified against its invocation; accepted and denied writes are audited. */
  async check (auth: string | undefined, expect: { can: Ability, resource: string, value: unknown, author: string }): Promise<Authorized | undefined> {
    if (!this.enabled) return undefined
    const digest = digestOf(expect.value)
    try {
      const ok = await this.authority.verify(auth, { can: expect.can, resource: expect.resource, digest, author: expect.author })
      this.counters.accepted++
      return ok
    } catch (err: any) {
      await this.deny({ can: expect.can, resource: expect.resource, author: expect.author, reason: err.message })
      throw err
    }
  }

  /** An accepted remote write that changed this replica. */
  async recordAccepted (detail: Record<string, unknown>): Promise<void> {
    if (this.enabled) await this.audit.append('accepted', detail).catch(() => {})
  }

  private async deny (detail: { can: string, resource: string, author: string, reason: string, local?: boolean }): Promise<void> {
    this.counters.denied++
    this.log('denied %s on %s by %s: %s', detail.can, detail.resource, detail.author, detail.reason)
    await this.audit.append('denied', detail).catch(() => {})
  }

  // ---- tokens ------------------------------------------------------------

  async delegate (input: DelegateInput): Promise<{ token: string, summary: TokenSummary }> {
    const out = await this.authority.delegate(input)
    await this.audit.append('delegate', { id: out.summary.id, to: out.summary.audience, capabilities: out.summary.capabilities, ...(out.summary.expiresAt != null ? { expiresAt: out.summary.expiresAt } : {}) })
    return out
  }

  async add (token: string): Promise<TokenSummary> {
    const summary = await this.authority.add(token)
    await this.audit.append('token-added', { id: summary.id, from: summary.issuer, capabilities: summary.capabilities })
    return summary
  }

  /** An invite's capability (see Authority.redeem). */
  async redeem (grant: { key: string, token: string }): Promise<TokenSummary> {
    const summary = await this.authority.redeem(grant)
    await this.audit.append('token-added', { id: summary.id, from: summary.issuer, capabilities: summary.capabilities, invite: true })
    return summary
  }

  async revoke (id: string): Promise<Revocation> {
    const r = await this.authority.revoke(id)
    await this.audit.append('revoke', { id, by: r.by })
    await this.replication.announce([r])
    return r
  }

}

export function auth (init: AuthInit = {}): (components: AuthComponents) => Auth {
  return (components) => new Auth(components, init)
}
