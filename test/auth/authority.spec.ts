import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { delegate } from '@ucanto/core'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Authority } from '../../lib/auth/authority.js'
import { didFromPeerId, didFromPublicKey, parsePrincipal, peerIdFromDid, signerFromKey } from '../../lib/auth/did.js'
import { decodeToken, encodeToken } from '../../lib/auth/token.js'
import { InvalidTokenError, UnauthorizedError } from '../../lib/interface/errors.js'

interface Party { key: PrivateKey, peerId: string, authority: Authority }

async function party (operators: string[], operatorKey?: PrivateKey): Promise<Party> {
  const key = await generateKeyPair('Ed25519')
  const authority = new Authority({ key, operators, datastore: new MemoryDatastore(), ...(operatorKey != null ? { operatorKey } : {}) })
  await authority.start()
  return { key, peerId: peerIdFromPrivateKey(key).toString(), authority }
}

const digest = 'sha256-of-the-write'

describe('capability tokens', () => {
  let operatorKey: PrivateKey
  let operators: string[]
  let op: Party
  let a: Party
  let b: Party

  beforeEach(async () => {
    operatorKey = await generateKeyPair('Ed25519')
    operators = [didFromPublicKey(operatorKey.publicKey.raw)]
    op = await party(operators, operatorKey)
    a = await party(operators)
    b = await party(operators)
  })

  it('maps peer ids and did:keys both ways', () => {
    const did = didFromPeerId(a.peerId)
    expect(did).to.match(/^did:key:z6Mk/)
    expect(peerIdFromDid(did)).to.equal(a.peerId)
    expect(parsePrincipal(a.peerId)).to.equal(did)
    expect(peerIdFromDid('did:key:zNope')).to.equal(undefined)
    expect(() => parsePrincipal('did:web:example.com')).to.throw(InvalidTokenError)
  })

  it('lets the operator machine act on everything, and nobody else without a token', async () => {
    const auth = await op.authority.invoke('service/deploy', 'svc:web', digest)
    const ok = await a.authority.verify(auth, { can: 'service/deploy', resource: 'svc:web', digest, author: op.peerId })
    expect(ok.root).to.equal(operators[0])
    await expect(a.authority.invoke('service/deploy', 'svc:web', digest)).to.be.rejectedWith(UnauthorizedError, /holds no token for service\/deploy on svc:web/)
    await expect(a.authority.verify(undefined, { can: 'service/deploy', resource: 'svc:web', digest, author: a.peerId })).to.be.rejectedWith(UnauthorizedError, /no capability token/)
  })

  it('honours a delegation chain within its scope and not outside it', async () => {
    const toA = await op.authority.delegate({ to: a.peerId, can: 'service/*', with: 'svc:*' })
    await a.authority.add(toA.token)
    const toB = await a.authority.delegate({ to: b.peerId, can: 'service/deploy', with: 'svc:web*', ttlMs: 60_000 })
    expect(toB.summary.proofs).to.deep.equal([toA.summary.id])
    await b.authority.add(toB.token)

    const inScope = await b.authority.invoke('service/deploy', 'svc:web-2', digest)
    const ok = await op.authority.verify(inScope, { can: 'service/deploy', resource: 'svc:web-2', digest, author: b.peerId })
    expect(ok.chain.slice(1)).to.deep.equal([toB.summary.id, toA.summary.id])
    // outside: another service, another ability
    await expect(b.authority.invoke('service/deploy', 'svc:db', digest)).to.be.rejectedWith(UnauthorizedError)
    await expect(b.authority.invoke('service/remove', 'svc:web', digest)).to.be.rejectedWith(UnauthorizedError)
    // a wider delegation than one holds cannot be made
    await expect(b.authority.delegate({ to: a.peerId, can: 'service/deploy', with: 'svc:*' })).to.be.rejectedWith(UnauthorizedError)
  })

  it('refuses a token stretched beyond its proof (attenuation is checked by the verifier, not trusted from the issuer)', async () => {
    const toA = await op.authority.delegate({ to: a.peerId, can: 'service/deploy', with: 'svc:web' })
    await a.authority.add(toA.token)
    // a hand-made wider delegation from a to b on a's narrow proof
    const widened = await delegate({ issuer: await signerFromKey(a.key), audience: (await signerFromKey(b.key)).verifier, capabilities: [{ can: 'service/*', with: 'svc:*' }], proofs: [await decodeToken(toA.token)], expiration: Infinity })
    await b.authority.add(await encodeToken(widened))
    const auth = await b.authority.invoke('service/deploy', 'svc:db', digest)
    await expect(op.authority.verify(auth, { can: 'service/deploy', resource: 'svc:db', digest, author: b.peerId })).to.be.rejectedWith(UnauthorizedError, /not authorized|not within/)
  })

  it('refuses a forged token, one for another write, and one signed by someone else than the author', async () => {
    const auth = (await op.authority.invoke('service/deploy', 'svc:web', digest))!
    // another digest: the token is bound to one write
    await expect(a.authority.verify(auth, { can: 'service/deploy', resource: 'svc:web', digest: 'other', author: op.peerId })).to.be.rejectedWith(UnauthorizedError, /another write/)
    // replayed under another author
    await expect(a.authority.verify(auth, { can: 'service/deploy', resource: 'svc:web', digest, author: b.peerId })).to.be.rejectedWith(UnauthorizedError, /not by the author/)
    // a flipped byte: the archive no longer decodes, or its signature no longer holds
    const bytes = Buffer.from(auth, 'base64url')
    let refused = 0
    for (const at of [bytes.length - 20, bytes.length - 70, Math.floor(bytes.length / 2)]) {
      const forged = Buffer.from(bytes)
      forged[at] = forged[at]! ^ 0x01
      try {
        await a.authority.verify(forged.toString('base64url'), { can: 'service/deploy', resource: 'svc:web', digest, author: op.peerId })
      } catch (err) {
        expect(err).to.be.instanceOf(UnauthorizedError)
        refused++
      }
    }
    expect(refused).to.equal(3)
    // a chain rooted at a key that is no operator
    const stranger = await party([didFromPublicKey(b.key.publicKey.raw)], b.key)
    const fromStranger = await stranger.authority.delegate({ to: a.peerId, can: '*', with: 'ucan:*' })
    await expect(a.authority.add(fromStranger.token)).to.be.rejectedWith(UnauthorizedError, /not an operator/)
    await expect(a.authority.verify('not-a-token!', { can: 'service/deploy', resource: 'svc:web', digest, author: op.peerId })).to.be.rejectedWith(UnauthorizedError, /base64url/)
  })

  it('refuses an expired delegation', async () => {
    const toA = await op.authority.delegate({ to: a.peerId, can: 'service/deploy', with: 'svc:web', ttlMs: 1_000 })
    await a.authority.add(toA.token)
    const auth = await a.authority.invoke('service/deploy', 'svc:web', digest)
    await op.authority.verify(auth, { can: 'service/deploy', resource: 'svc:web', digest, author: a.peerId })
    const deadline = Date.now() + 10_000
    while (Date.now() < Math.ceil((toA.summary.expiresAt ?? 0) / 1000) * 1000 + 50) {
      if (Date.now() > deadline) throw new Error('did not expire')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    // not served from the cache of verified tokens either
    await expect(op.authority.verify(auth, { can: 'service/deploy', resource: 'svc:web', digest, author: a.peerId })).to.be.rejectedWith(UnauthorizedError, /xpired/)
    await expect(a.authority.invoke('service/deploy', 'svc:web', digest)).to.be.rejectedWith(UnauthorizedError)
  })

  it('refuses a revoked delegation, and takes a revocation only from a signer in the chain', async () => {
    const toA = await op.authority.delegate({ to: a.peerId, can: 'service/deploy', with: 'svc:*' })
    await a.authority.add(toA.token)
    const toB = await a.authority.delegate({ to: b.peerId, can: 'service/deploy', with: 'svc:web' })
    await b.authority.add(toB.token)
    const auth = await b.authority.invoke('service/deploy', 'svc:web', digest)
    const expect2 = { can: 'service/deploy' as const, resource: 'svc:web', digest, author: b.peerId }
    await op.authority.verify(auth, expect2)

    // b cannot revoke what a issued to it... it can sign one, but it does not count
    const c = await party(operators)
    const { signRevocation } = await import('../../lib/auth/revocation.js')
    await c.authority.accept(await signRevocation(toB.summary.id, c.key))
    await c.authority.verify(auth, expect2)
    // a forged revocation is refused outright
    const r = await signRevocation(toB.summary.id, a.key)
    await expect(op.authority.accept({ ...r, id: toA.summary.id })).to.be.rejectedWith(InvalidTokenError, /not signed/)

    const revocation = await a.authority.revoke(toB.summary.id)
    expect(await op.authority.accept(revocation)).to.equal(true)
    expect(await op.authority.accept(revocation)).to.equal(false)
    await expect(op.authority.verify(auth, expect2)).to.be.rejectedWith(UnauthorizedError, /revoked/)
    expect(op.authority.list().revoked.map(x => x.id)).to.deep.equal([toB.summary.id])
    await expect(c.authority.revoke(toA.summary.id)).to.be.rejectedWith(InvalidTokenError, /no token/)
  })
})
