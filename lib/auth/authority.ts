import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { delegate } from '@ucanto/core'
import { ed25519 } from '@ucanto/principal'
import type { EdSigner } from '@ucanto/principal/ed25519'
import { access, Failure } from '@ucanto/validator'
import { Key, type Datastore } from 'interface-datastore'
import { InvalidTokenError, UnauthorizedError } from '../interface/errors.js'
import { abilityCovers, ALL, checkAbility, checkResource, PARSERS, resourceCovers, type Ability } from './abilities.js'
import { didFromPeerId, didFromPublicKey, parsePrincipal, signerFromKey, type Did } from './did.js'
import { signRevocation, verifyRevocation, type Revocation } from './revocation.js'
import { chain, decodeToken, encodeToken, summarize, type Token, type TokenSummary } from './token.js'

const HELD = '/noodle/auth/held'
const ISSUED = '/noodle/auth/issued'
const REVOKED = '/noodle/auth/revoked'
/** verified invocations remembered (they arrive again by gossip, sync and the DHT) */
const VERIFIED_CACHE = 4096
/** the most revocations a node keeps */
export const MAX_REVOCATIONS = 10_000

export interface AuthorityInit {
  /** this node's identity: the signer of its invocations */
  key: PrivateKey
  /** an operator's key, on the machine that holds one */
  operatorKey?: PrivateKey
  /** did:keys of the operators: the roots of trust. None: this node enforces nothing (an open mesh). */
  operators: string[]
  datastore: Datastore
}

export interface Authorized {
  /** the invocation's id */
  id: string
  /** the delegations it rests on, nearest first */
  chain: string[]
  /** the principal at the root of the chain (an operator) */
  root: string
}

export interface DelegateInput {
  to: string
  can: string
  with: string
  /** absent: no expiry */
  ttlMs?: number
}

/**
 * Capability tokens (UCAN, through ucanto): what this node holds, what it
 * has issued, what has been revoked, and the checks every mesh-level write
 * passes. A write carries an invocation signed by its author: one ability
 * on one resource, bound to the write by its digest, resting on delegations
 * that lead back to an operator key named in the config.
 */
export class Authority {
  readonly did: Did
  readonly operators: ReadonlySet<string>
  private readonly init: AuthorityInit
  private signer?: EdSigner
  private operatorSigner?: EdSigner
  private readonly held = new Map<string, Token>()
  private readonly issued = new Map<string, Token>()
  private readonly revoked = new Map<string, Revocation>()
  private readonly verified = new Map<string, Authorized>()

  constructor (init: AuthorityInit) {
    this.init = init
    this.did = didFromPublicKey(init.key.publicKey.raw)
    this.operators = new Set(init.operators.map(o => parsePrincipal(o)))
  }

  /** Enforced only where the config names operators. */
  get enabled (): boolean {
    return this.operators.size > 0
  }

  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    this.signer = await signerFromKey(this.init.key)
    if (this.init.operatorKey != null) this.operatorSigner = await signerFromKey(this.init.operatorKey)
    for (const [prefix, into] of [[HELD, this.held], [ISSUED, this.issued]] as const) {
      for await (const { value } of this.init.datastore.query({ prefix }, options)) {
        try {
          const token = await decodeToken(new TextDecoder().decode(value))
          into.set(token.cid.toString(), token)
        } catch {}
      }
    }
    for await (const { value } of this.init.datastore.query({ prefix: REVOKED }, options)) {
      try {
        const r = await verifyRevocation(JSON.parse(new TextDecoder().decode(value)))
        this.revoked.set(r.id, r)
      } catch {}
    }
    // the operator's own machine holds everything, from the operator, for ever
    if (this.operatorSigner != null && this.operators.has(this.operatorSigner.did()) && ![...this.held.values()].some(t => t.issuer.did() === this.operatorSigner!.did() && t.capabilities.some(c => c.can === '*' && c.with === ALL))) {
      const root = await delegate({ issuer: this.operatorSigner, audience: this.signer, capabilities: [{ can: '*', with: ALL }], expiration: Infinity })
      await this.store(HELD, root, options)
    }
  }

  // ---- invoking ----------------------------------------------------------

  /**
   * Sign an invocation of `can` on `resource` for the write whose digest is
   * given, resting on a held delegation that covers it. Throws
   * UnauthorizedError when none does. Undefined when nothing is enforced.
   */
  async invoke (can: Ability, resource: string, digest: string): Promise<string | undefined> {
    if (!this.enabled) return undefined
    const proof = this.proofFor(can, resource)
    if (proof == null) throw new UnauthorizedError(`this node holds no token for ${can} on ${resource} (\`noodled auth ls\` lists what it holds; an operator can \`noodled auth delegate --to ${this.did} --can ${can} --with ${resource}\`)`)
    const invocation = await delegate({
      issuer: this.requireSigner(),
      audience: ed25519.Verifier.parse([...this.operators][0]!),
      capabilities: [{ can, with: resource as `${string}:${string}`, nb: { digest } }],
      proofs: [proof],
      expiration: Infinity
    })
    return encodeToken(invocation)
  }

  /** The id of the held token an invocation of `can` on `resource` would rest on (for the audit trail). */
  proofId (can: string, resource: string): string | undefined {
    return this.proofFor(can, resource)?.cid.toString()
  }

  private proofFor (can: string, resource: string): Token | undefined {
    const now = Date.now() / 1000
    const usable = [...this.held.values()].filter(t =>
      t.audience.did() === this.did &&
      t.expiration > now &&
      this.revokedIn(t) == null &&
      t.capabilities.some(c => abilityCovers(c.can, can) && resourceCovers(c.with, resource)))
    // the one that lasts longest
    return usable.sort((a, b) => b.expiration - a.expiration)[0]
  }

  // ---- verifying ---------------------------------------------------------

  /**
   * Check a write's invocation: signed by the write's author, for exactly
   * this ability, resource and digest, resting on an unbroken, unexpired,
   * unrevoked chain of delegations from an operator, each no wider than the
   * one before. Throws UnauthorizedError saying why.
   */
  async verify (auth: string | undefined, expect: { can: Ability, resource: string, digest: string, author: string }): Promise<Authorized> {
    const what = `${expect.can} on ${expect.resource} by ${expect.author}`
    if (auth == null) throw new UnauthorizedError(`${what}: no capability token`)
    let invocation: Token
    try {
      invocation = await decodeToken(auth)
    } catch (err: any) {
      throw new UnauthorizedError(`${what}: ${err.message}`)
    }
    const id = invocation.cid.toString()
    if (invocation.issuer.did() !== didFromPeerId(expect.author)) throw new UnauthorizedError(`${what}: the token is signed by ${invocation.issuer.did()}, not by the author`)
    if (!this.operators.has(invocation.audience.did())) throw new UnauthorizedError(`${what}: the token is addressed to ${invocation.audience.did()}, not to this mesh's operators`)
    const [cap, ...more] = invocation.capabilities
    if (cap == null || more.length > 0 || cap.can !== expect.can || cap.with !== expect.resource || (cap.nb as { digest?: unknown } | undefined)?.digest !== expect.digest) {
      throw new UnauthorizedError(`${what}: the token invokes ${invocation.capabilities.map(c => `${c.can} on ${c.with}`).join(', ')} for another write`)
    }
    // only now: the cache answers for the chain, not for which write the invocation binds
    const cached = this.verified.get(id)
    if (cached != null && this.stillValid(invocation)) return cached
    const result = await this.access(invocation, expect.can).catch((err: Error) => ({ error: err, ok: undefined }))
    if (result.error != null) throw new UnauthorizedError(`${what}: ${result.error.message}`)
    const links = [...authorizationChain(result.ok)].map(d => d.cid.toString())
    const root = [...authorizationChain(result.ok)].at(-1)?.issuer.did() ?? ''
    const authorized: Authorized = { id, chain: links, root }
    if (this.verified.size >= VERIFIED_CACHE) this.verified.delete(this.verified.keys().next().value!)
    this.verified.set(id, authorized)
    return authorized
  }

  /** ucanto's validator: signatures, principal alignment, attenuation, time bounds; a bad key in the archive throws */
  private async access (invocation: Token, can: Ability): Promise<{ ok: any, error?: undefined } | { error: Error, ok?: undefined }> {
    return access(invocation as any, {
      capability: PARSERS[can],
      authority: invocation.audience as any,
      principal: ed25519.Verifier,
      // the roots of trust: only an operator issues a capability from nothing
      canIssue: (_capability: unknown, issuer: string) => this.operators.has(issuer),
      validateAuthorization: async (authorization: any) => {
        const links = [...authorizationChain(authorization)]
        for (const d of links) {
          const r = this.revoked.get(d.cid.toString())
          if (r != null && (this.operators.has(r.by) || links.some(up => up.issuer.did() === r.by))) {
            return { error: new Failure(`delegation ${d.cid.toString()} was revoked by ${r.by}`) }
          }
        }
        return { ok: {} }
      }
    } as any) as any
  }

  private stillValid (token: Token): boolean {
    const now = Date.now() / 1000
    for (const t of chain(token)) if (t.expiration <= now || this.revoked.has(t.cid.toString())) return false
    return true
  }

  // ---- delegating --------------------------------------------------------

  /**
   * Hand on a capability: from the operator key where this repo holds one,
   * else from this node, resting on a held token at least as wide.
   */
  async delegate (input: DelegateInput): Promise<{ token: string, summary: TokenSummary }> {
    const can = checkAbility(input.can)
    const resource = checkResource(input.with)
    const audience = parsePrincipal(input.to)
    if (input.ttlMs != null && (!Number.isFinite(input.ttlMs) || input.ttlMs <= 0)) throw new InvalidTokenError('ttl must be positive')
    const expiration = input.ttlMs == null ? Infinity : Math.floor((Date.now() + input.ttlMs) / 1000)
    let issuer: EdSigner
    let proofs: Token[] = []
    if (this.operatorSigner != null && this.operators.has(this.operatorSigner.did())) {
      issuer = this.operatorSigner
    } else {
      const proof = this.proofFor(can, resource)
      if (proof == null) throw new UnauthorizedError(`this node holds no token for ${can} on ${resource} to delegate from`)
      if (proof.expiration < expiration) throw new UnauthorizedError(`the token this rests on expires at ${new Date(proof.expiration * 1000).toISOString()}; ask for a shorter --ttl`)
      issuer = this.requireSigner()
      proofs = [proof]
    }
    const token = await delegate({ issuer, audience: ed25519.Verifier.parse(audience), capabilities: [{ can: can as any, with: resource as `${string}:${string}` }], proofs, expiration })
    await this.store(ISSUED, token)
    return { token: await encodeToken(token), summary: summarize(token) }
  }

  /**
   * Take a token addressed to this node (from `auth delegate` elsewhere, an
   * invite, or gossip). It must lead back to an operator and not be expired
   * or revoked; a token for someone else is refused.
   */
  async add (text: string, options: { signal?: AbortSignal } = {}): Promise<TokenSummary> {
    const token = await decodeToken(text)
    if (token.audience.did() !== this.did) throw new InvalidTokenError(`the token is addressed to ${token.audience.did()}, not to this node (${this.did})`)
    const problem = this.chainProblem(token)
    if (problem != null) throw new UnauthorizedError(problem)
    await this.store(HELD, token, options)
    return summarize(token)
  }

  /**
   * An invite's capability: a token delegated to a one-off key the invite
   * carries. The key hands it on to this node, and this node holds the result.
   */
  async redeem (grant: { key: string, token: string }, options: { signal?: AbortSignal } = {}): Promise<TokenSummary> {
    let key: PrivateKey
    try {
      key = privateKeyFromProtobuf(Buffer.from(grant.key, 'base64'))
    } catch (err: any) {
      throw new InvalidTokenError(`the invite's key is not a private key: ${err.message}`)
    }
    const proof = await decodeToken(grant.token)
    const signer = await signerFromKey(key)
    if (proof.audience.did() !== signer.did()) throw new InvalidTokenError('the invite\'s token is not for the invite\'s key')
    const token = await delegate({ issuer: signer, audience: this.requireSigner(), capabilities: proof.capabilities as any, proofs: [proof], expiration: proof.expiration })
    return this.add(await encodeToken(token), options)
  }

  /** Why a token's chain cannot be used, if it cannot (signatures are checked when it is invoked). */
  private chainProblem (token: Token): string | undefined {
    const links = [...chain(token)]
    const now = Date.now() / 1000
    for (const t of links) {
      if (t.expiration <= now) return `delegation ${t.cid.toString()} expired at ${new Date(t.expiration * 1000).toISOString()}`
    }
    const revoked = this.revokedIn(token)
    if (revoked != null) return `delegation ${revoked} was revoked`
    const root = links.at(-1)!
    if (!this.operators.has(root.issuer.did())) return `the token's chain starts at ${root.issuer.did()}, which is not an operator of this mesh`
    for (let i = 0; i < links.length - 1; i++) {
      if (links[i]!.issuer.did() !== links[i + 1]!.audience.did()) return `delegation ${links[i]!.cid.toString()} is issued by ${links[i]!.issuer.did()}, who does not hold the delegation it rests on`
    }
    return undefined
  }

  private revokedIn (token: Token): string | undefined {
    const links = [...chain(token)]
    for (const t of links) {
      const r = this.revoked.get(t.cid.toString())
      if (r != null && (this.operators.has(r.by) || links.some(up => up.issuer.did() === r.by))) return t.cid.toString()
    }
    return undefined
  }

  // ---- revoking ----------------------------------------------------------

  /** Revoke a delegation this node (or its operator key) issued or rests on. */
  async revoke (id: string): Promise<Revocation> {
    const token = this.issued.get(id) ?? this.held.get(id) ?? [...this.held.values(), ...this.issued.values()].flatMap(t => [...chain(t)]).find(t => t.cid.toString() === id)
    if (token == null) throw new InvalidTokenError(`no token ${id} here: \`noodled auth ls\` lists the tokens this node holds and issued`)
    const issuers = new Set([...chain(token)].map(t => t.issuer.did()))
    const key = this.operatorSigner != null && (issuers.has(this.operatorSigner.did()) || this.operators.has(this.operatorSigner.did()))
      ? this.init.operatorKey!
      : issuers.has(this.did) ? this.init.key : undefined
    if (key == null) throw new UnauthorizedError(`token ${id} was issued by ${token.issuer.did()}; only an issuer in its chain or an operator can revoke it`)
    const revocation = await signRevocation(id, key)
    await this.accept(revocation)
    return revocation
  }

  /** Take a revocation from anywhere; false when already known. Throws InvalidTokenError when forged. */
  async accept (value: unknown, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const r = await verifyRevocation(value)
    if (this.revoked.has(r.id)) return false
    if (this.revoked.size >= MAX_REVOCATIONS) throw new InvalidTokenError(`more than ${MAX_REVOCATIONS} revocations`)
    this.revoked.set(r.id, r)
    await this.init.datastore.put(new Key(`${REVOKED}/${r.id}`), new TextEncoder().encode(JSON.stringify(r)), options)
    this.verified.clear()
    return true
  }

  revocations (): Revocation[] {
    return [...this.revoked.values()]
  }

  list (): { did: string, operators: string[], operator: boolean, held: Array<TokenSummary & { revoked: boolean }>, issued: Array<TokenSummary & { revoked: boolean }>, revoked: Revocation[] } {
    const view = (t: Token): TokenSummary & { revoked: boolean } => ({ ...summarize(t), revoked: this.revokedIn(t) != null })
    return {
      did: this.did,
      operators: [...this.operators],
      operator: this.operatorSigner != null && this.operators.has(this.operatorSigner.did()),
      held: [...this.held.values()].map(view),
      issued: [...this.issued.values()].map(view),
      revoked: this.revocations()
    }
  }

  private async store (prefix: string, token: Token, options: { signal?: AbortSignal } = {}): Promise<void> {
    const id = token.cid.toString()
    await this.init.datastore.put(new Key(`${prefix}/${id}`), new TextEncoder().encode(await encodeToken(token)), options)
    ;(prefix === HELD ? this.held : this.issued).set(id, token)
  }

  private requireSigner (): EdSigner {
    if (this.signer == null) throw new Error('authority not started')
    return this.signer
  }
}

/** The delegations an authorization rests on, the invocation's proof first, the root last. */
function * authorizationChain (authorization: { delegation: Token, proofs: any[] }): Generator<Token> {
  yield authorization.delegation
  for (const p of authorization.proofs) yield * authorizationChain(p)
}
