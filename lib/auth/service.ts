import { setMaxListeners } from 'node:events'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { lpStream, repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PrivateKey, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { Key, type Datastore } from 'interface-datastore'
import { z } from 'zod'
import { AuditLog, type AuditType } from '../audit/log.js'
import { UnauthorizedError } from '../interface/errors.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { connectedPeerSample, randomConnectedPeer, requestJson } from '../json-exchange.js'
import type { Ability } from './abilities.js'
import { Authority, MAX_REVOCATIONS, type Authorized, type DelegateInput } from './authority.js'
import { canonicalJson, digestOf } from '../canonical-json.js'
import type { Revocation } from './revocation.js'
import type { TokenSummary } from './token.js'
import { timeoutSignal } from '../signals.js'
import { DEFAULT_PROTOCOL_PREFIX } from '../constants.js'

export interface AuthInit {
  /** did:keys (or Ed25519 peer ids) of the operators; none: nothing is enforced */
  operators?: string[]
  operatorKey?: PrivateKey
  /** recorded in the audit trail at start, and again whenever it changes */
  policy?: unknown
  /** fingerprints of this node's keys (identity, swarm key), audited when they change */
  keys?: Record<string, string>
  protocolPrefix?: string
  /** @default 30_000 */
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

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const MAX_PUSH_PEERS = 16
const LAST_START = new Key('/noodle/audit/last-start')
const gossipSchema = z.strictObject({ revocations: z.array(z.unknown()).max(64) })
const syncRequestSchema = z.strictObject({ have: z.array(z.string().max(128)).max(MAX_REVOCATIONS) })
const syncResponseSchema = z.strictObject({ revocations: z.array(z.unknown()).max(MAX_REVOCATIONS) })

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
  private readonly components: AuthComponents
  private readonly init: AuthInit
  private readonly log: Logger
  private readonly topic: string
  private readonly protocol: string
  private controller?: AbortController
  private task?: RepeatingTask
  private caughtUp = false
  private readonly onMessage = (evt: CustomEvent<Message>): void => { void this.receive(evt.detail) }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { if (!this.caughtUp) void this.pull(evt.detail) }

  constructor (components: AuthComponents, init: AuthInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('noodled:auth')
    const prefix = init.protocolPrefix ?? DEFAULT_PROTOCOL_PREFIX
    this.topic = `${prefix}/auth/revocations/1`.replace(/^\//, '')
    this.protocol = `${prefix}/auth/sync/1.0.0`
    this.authority = new Authority({ key: components.privateKey, operators: init.operators ?? [], datastore: components.datastore, ...(init.operatorKey != null ? { operatorKey: init.operatorKey } : {}) })
    this.audit = new AuditLog({ datastore: components.datastore })
  }

  readonly [Symbol.toStringTag] = 'noodled/auth'

  get enabled (): boolean {
    return this.authority.enabled
  }

  async start (): Promise<void> {
    this.controller = new AbortController()
    setMaxListeners(Infinity, this.controller.signal)
    const signal = this.controller.signal
    await this.audit.start({ signal })
    await this.authority.start({ signal })
    await this.auditStart(signal)
    await this.components.registrar.handle(this.protocol, limitInbound(this.protocol, INBOUND_LIMITS.sync, (stream, connection) => { void this.serve(stream, connection) }), { maxInboundStreams: 4, maxOutboundStreams: 2 })
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
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, (_peer, msg) => this.validate(msg))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(this.topic)
    this.components.events.addEventListener('peer:connect', this.onConnect)
    for (const c of this.components.connectionManager.getConnections()) void this.pull(c.remotePeer)
    this.task = repeatingTask(async () => { await this.antiEntropy() }, this.init.syncIntervalMs ?? 30_000)
    this.task.start()
  }

  async stop (): Promise<void> {
    this.controller?.abort()
    this.task?.stop()
    const { pubsub } = this.components
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.topicValidators.delete(this.topic)
    try { pubsub.unsubscribe(this.topic) } catch {}
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
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
    try {
      await this.components.pubsub.publish(this.topic, encodeJson({ revocations: [r] }))
    } catch (err) {
      this.log.trace('revocation publish failed: %e', err)
    }
    // push-pull: each connected member asks for what it lacks
    for (const p of connectedPeerSample(this.components.connectionManager, MAX_PUSH_PEERS)) void this.pull(p)
    return r
  }

  private async take (values: unknown[]): Promise<number> {
    let added = 0
    for (const v of values) {
      try {
        if (await this.authority.accept(v, { signal: this.controller?.signal })) {
          added++
          const r = v as Revocation
          await this.audit.append('revocation-received', { id: r.id, by: r.by })
        }
      } catch {
        this.counters.revocationsRejected++
      }
    }
    return added
  }

  // ---- spreading revocations --------------------------------------------

  private validate (msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed' || msg.data.byteLength > 64 * 1024) return TopicValidatorResult.Reject
    try {
      decodeJson(gossipSchema, msg.data)
      return TopicValidatorResult.Accept
    } catch {
      this.counters.revocationsRejected++
      return TopicValidatorResult.Reject
    }
  }

  private async receive (msg: Message): Promise<void> {
    if (msg.topic !== this.topic) return
    try {
      await this.take(decodeJson(gossipSchema, msg.data).revocations)
    } catch {}
  }

  private async antiEntropy (): Promise<void> {
    const peer = randomConnectedPeer(this.components.connectionManager)
    if (peer != null) await this.pull(peer)
  }

  /** Ask a peer for the revocations this node lacks. */
  async pull (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = AbortSignal.any([this.controller?.signal ?? new AbortController().signal, options.signal ?? timeoutSignal(10_000)])
    try {
      const { revocations } = await requestJson(this.components.connectionManager, peer, this.protocol, { have: this.authority.revocations().map(r => r.id) }, syncResponseSchema, { maxBytes: MAX_MESSAGE_BYTES, signal })
      this.caughtUp = true
      return await this.take(revocations)
    } catch (err: any) {
      this.log.trace('revocation pull from %p failed: %e', peer, err)
      return 0
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(10_000)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      const { have } = decodeJson(syncRequestSchema, (await lp.read({ signal })).subarray())
      const theirs = new Set(have)
      const mine = this.authority.revocations()
      await lp.write(encodeJson({ revocations: mine.filter(r => !theirs.has(r.id)) }), { signal })
      await stream.close({ signal })
      const known = new Set(mine.map(r => r.id))
      if (have.some(id => !known.has(id))) void this.pull(connection.remotePeer)
    } catch (err: any) {
      this.log.trace('revocation sync with %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}

export function auth (init: AuthInit = {}): (components: AuthComponents) => Auth {
  return (components) => new Auth(components, init)
}
