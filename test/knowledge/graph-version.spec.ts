import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { graphHash } from '../../lib/knowledge/canonical.js'
import { checkGraphVersion, signGraphVersion, type GraphVersionRecord } from '../../lib/knowledge/graph-version.js'
import { ADVERT_SIGNATURE_PREFIX } from '../../lib/membership/relay.js'

const CANONICAL = '<http://example.org/a> <http://example.org/b> "c" .\n'

describe('signed graph versions', () => {
  it('takes an owner-signed version and refuses a forged, a tampered and a replayed one', async () => {
    const owner = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(owner).toString()
    const record: GraphVersionRecord = { v: 1, graph: `urn:noodle:graph:${id}/people`, owner: id, version: 3, hash: graphHash(CANONICAL), quads: 1, at: Date.now() }
    const signed = await signGraphVersion(owner, record)
    expect(await checkGraphVersion(signed, owner.publicKey, CANONICAL, { version: 2 })).to.equal(undefined)
    // forged: another key signs a record claiming the owner
    const forged = { record, signature: Buffer.from(await other.sign(new Uint8Array(8))).toString('base64') }
    expect(await checkGraphVersion(forged, owner.publicKey, CANONICAL)).to.equal('forged')
    // forged: the signature checked against a key that is not the graph's owner
    expect(await checkGraphVersion(signed, other.publicKey, CANONICAL)).to.equal('forged')
    // forged: a field changed after signing
    expect(await checkGraphVersion({ ...signed, record: { ...record, version: 4 } }, owner.publicKey, CANONICAL)).to.equal('forged')
    // tampered: the content is not what the owner signed
    expect(await checkGraphVersion(signed, owner.publicKey, CANONICAL.replace('"c"', '"d"'))).to.equal('tampered')
    // replayed: not newer than what is held
    expect(await checkGraphVersion(signed, owner.publicKey, CANONICAL, { version: 3 })).to.equal('replayed')
    expect(await checkGraphVersion({ ...signed, record: { ...record, v: 2 as 1 } }, owner.publicKey, CANONICAL)).to.equal('malformed')
    expect(await checkGraphVersion({ ...signed, signature: 'not base64 at all!' }, owner.publicKey, CANONICAL)).to.equal('forged')
  })

  it('signs in a domain of its own: the same bytes signed as an advert are not a graph version', async () => {
    const owner = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(owner).toString()
    const record: GraphVersionRecord = { v: 1, graph: `urn:noodle:graph:${id}/g`, owner: id, version: 1, hash: graphHash(CANONICAL), quads: 1, at: 0 }
    const signed = await signGraphVersion(owner, record)
    const { canonicalJson } = await import('../../lib/canonical-json.js')
    const asAdvert = await owner.sign(new Uint8Array([...ADVERT_SIGNATURE_PREFIX, ...new TextEncoder().encode(canonicalJson(record))]))
    expect(await checkGraphVersion({ record, signature: Buffer.from(asAdvert).toString('base64') }, owner.publicKey, CANONICAL)).to.equal('forged')
    expect(await checkGraphVersion(signed, owner.publicKey, CANONICAL)).to.equal(undefined)
    // a key cannot sign a version of a graph that is not its own
    const other = await generateKeyPair('Ed25519')
    const err = await signGraphVersion(other, record).then(() => undefined, (e: Error) => e)
    expect(err?.message).to.include('signed by its owner')
  })
})
