import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { graphHash, predicatesOf } from '../../lib/knowledge/canonical.js'
import { GraphCatalog } from '../../lib/knowledge/graph-catalog.js'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import { signGraphVersion, type SignedGraphVersion } from '../../lib/knowledge/graph-version.js'
import { graphRelevant, queryPredicates } from '../../lib/knowledge/source-selection.js'
import { rejection } from '../utils/rejection.js'
import { tmpDir } from '../utils/tmp-repo.js'

const V1 = '<http://example.org/a> <https://schema.org/name> "A" .\n'
const V2 = '<http://example.org/a> <https://schema.org/name> "A" .\n<http://example.org/b> <https://schema.org/name> "B" .\n'

async function version (key: PrivateKey, name: string, v: number, canonical: string): Promise<SignedGraphVersion> {
  const id = peerIdFromPrivateKey(key).toString()
  return await signGraphVersion(key, { v: 1, graph: `urn:noodle:graph:${id}/${name}`, owner: id, version: v, hash: graphHash(canonical), quads: canonical.split('\n').length - 1, at: 1_700_000_000_000 + v, predicates: ['https://schema.org/name'] })
}

describe('the catalog of the mesh\'s graphs', () => {
  it('takes owner-signed versions in any order to the same state, and refuses (and counts) forged, replayed and malformed ones', async () => {
    const owner = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const v1 = await version(owner, 'people', 1, V1)
    const v2 = await version(owner, 'people', 2, V2)
    const a = new GraphCatalog()
    const b = new GraphCatalog()
    const refused: string[] = []
    a.addEventListener('refused', (evt) => { refused.push(evt.detail.reason) })
    expect((await a.merge([v1, v2])).applied).to.have.length(2)
    expect((await b.merge([v2, v1])).applied).to.have.length(1)
    expect(a.digest()).to.deep.equal(b.digest()).and.to.deep.equal({ [v1.record.graph]: 2 })
    // the same version again: nothing new, nothing refused
    expect(await a.merge([v2])).to.deep.equal({ applied: [], rejected: 0 })
    // replayed: an older version after a newer one
    expect((await a.merge([v1])).rejected).to.equal(1)
    // forged: another key signs a version of the owner's graph, or a field changed after signing
    const forged = await signGraphVersion(other, { ...v2.record, owner: peerIdFromPrivateKey(other).toString(), graph: `urn:noodle:graph:${peerIdFromPrivateKey(other).toString()}/x` })
    expect((await a.merge([{ record: { ...v2.record, version: 3 }, signature: v2.signature }, { record: { ...forged.record, graph: v2.record.graph }, signature: forged.signature }])).rejected).to.equal(2)
    expect((await a.merge([{ nonsense: true }, { record: { ...v2.record, predicates: 'all' }, signature: v2.signature }])).rejected).to.equal(2)
    expect(a.refusals).to.deep.equal({ forged: 2, tampered: 0, replayed: 1, malformed: 2, unauthorized: 0 })
    expect(refused).to.deep.equal(['replayed', 'forged', 'forged', 'malformed', 'malformed'])
    expect(a.get(v1.record.graph)).to.deep.equal(v2)
    // pulls: what a peer lacks, and whether it knows more
    expect(a.missing({ [v1.record.graph]: 1 })).to.deep.equal([v2])
    expect(a.missing({ [v1.record.graph]: 2 })).to.deep.equal([])
    expect(a.behind({ [v1.record.graph]: 3 })).to.equal(true)
    expect(a.behind({ 'urn:noodle:graph:x/y': 1 })).to.equal(true)
    expect(a.behind({ [v1.record.graph]: 2 })).to.equal(false)
  })

  it('in a secure mesh takes a version only with its owner\'s graph/write on kg:<name>, checked once per version', async () => {
    const owner = await generateKeyPair('Ed25519')
    const v1 = await version(owner, 'notes', 1, V1)
    const asked: Array<{ auth: string | undefined, resource: string, author: string }> = []
    const catalog = new GraphCatalog({
      check: async (auth, expect) => {
        asked.push({ auth, resource: expect.resource, author: expect.author })
        if (auth !== 'token-for-notes') throw new Error('no capability')
      }
    })
    expect((await catalog.merge([v1])).rejected).to.equal(1)
    expect(catalog.refusals.unauthorized).to.equal(1)
    expect((await catalog.merge([{ ...v1, auth: 'token-for-notes' }])).applied).to.have.length(1)
    expect(catalog.get(v1.record.graph)!.auth).to.equal('token-for-notes')
    // the same version again is not checked again
    await catalog.merge([{ ...v1, auth: 'token-for-notes' }])
    expect(asked).to.deep.equal([
      { auth: undefined, resource: 'kg:notes', author: v1.record.owner },
      { auth: 'token-for-notes', resource: 'kg:notes', author: v1.record.owner }
    ])
  })

  it('settles one version signed over two contents (an owner that equivocates) on the same entry everywhere', async () => {
    const owner = await generateKeyPair('Ed25519')
    const x = await version(owner, 'g', 1, V1)
    const y = await version(owner, 'g', 1, V2)
    const a = new GraphCatalog()
    const b = new GraphCatalog()
    await a.merge([x, y])
    await b.merge([y, x])
    expect(a.get(x.record.graph)).to.deep.equal(b.get(x.record.graph))
    expect(a.conflicts + b.conflicts).to.equal(2)
  })
})

describe('replicas of other daemons\' graphs in the knowledge store', function () {
  this.timeout(60_000)

  it('holds a checked version durably, and refuses a tampered, a forged and a replayed one without changing what it holds', async () => {
    const dir = await tmpDir()
    const owner = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const log = defaultLogger().forComponent('test:replicas')
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    let store = new GraphStore({ path: `${dir.path}/kg`, owner: self, log })
    try {
      await store.start()
      const v1 = await version(owner, 'people', 1, V1)
      const v2 = await version(owner, 'people', 2, V2)
      await store.holdReplica(v2, V2)
      expect(await rejection(store.holdReplica(v1, V1))).to.have.property('refusal', 'replayed')
      const tampered = await rejection(store.holdReplica(await version(owner, 'people', 3, V1), V2))
      expect(tampered).to.have.property('refusal', 'tampered')
      const forged = await signGraphVersion(other, { ...v2.record, version: 4, owner: peerIdFromPrivateKey(other).toString(), graph: `urn:noodle:graph:${peerIdFromPrivateKey(other).toString()}/people` })
      expect(await rejection(store.holdReplica({ record: { ...forged.record, owner: v2.record.owner, graph: v2.record.graph }, signature: forged.signature }, V2))).to.have.property('refusal', 'forged')
      expect(store.content(v2.record.graph, v2.record.hash)).to.equal(V2)
      expect(store.content(v2.record.graph, v1.record.hash)).to.equal(undefined)
      await store.stop()
      store = new GraphStore({ path: `${dir.path}/kg`, owner: self, log })
      await store.start()
      expect(store.replicaVersions()).to.deep.equal([v2])
      expect(store.content(v2.record.graph, v2.record.hash)).to.equal(V2)
      // replicas are not this daemon's own graphs: a local query does not see them
      expect(store.list()).to.deep.equal([])
    } finally {
      await store.stop()
      await dir.cleanup()
    }
  })
})

describe('source selection for mesh queries', () => {
  it('summarises a graph by the predicates of its canonical lines, or as "any" past the limit or for a line it cannot read', () => {
    const canonical = '<http://e/a> <https://schema.org/name> "a > <b" .\n<http://e/a> <https://schema.org/knows> <http://e/b> .\n<http://e/b> <https://schema.org/name> "b" .\n'
    expect(predicatesOf(canonical, 256)).to.deep.equal(['https://schema.org/knows', 'https://schema.org/name'])
    expect(predicatesOf(canonical, 1)).to.equal(undefined)
    expect(predicatesOf('', 256)).to.deep.equal([])
    expect(predicatesOf('<< <http://e/a> <http://e/p> <http://e/b> >> <http://e/q> "x" .\n', 256)).to.equal(undefined)
  })

  it('names the predicates a query can match, or "all" where its text cannot say', () => {
    const S = 'PREFIX s: <https://schema.org/> '
    expect([...queryPredicates(`${S} SELECT * WHERE { ?p s:name ?n ; s:worksFor/s:location ?c OPTIONAL { ?c s:name ?cn } FILTER NOT EXISTS { ?p s:knows ?q } }`) as Set<string>].sort())
      .to.deep.equal(['https://schema.org/knows', 'https://schema.org/location', 'https://schema.org/name', 'https://schema.org/worksFor'])
    expect(queryPredicates(`${S} CONSTRUCT { ?p s:other ?n } WHERE { ?p s:name ?n }`)).to.deep.equal(new Set(['https://schema.org/name']))
    for (const q of ['SELECT * WHERE { ?s ?p ?o }', `${S} SELECT * WHERE { ?s s:knows* ?o }`, `${S} SELECT * WHERE { ?s s:knows? ?o }`, `${S} SELECT * WHERE { ?s !s:knows ?o }`,
      'SELECT ?g WHERE { GRAPH ?g { } }', 'DESCRIBE <http://example.org/a>', `${S} SELECT * WHERE { SERVICE <http://x/sparql> { ?s s:name ?o } }`]) {
      expect(queryPredicates(q), q).to.equal('all')
    }
    expect(graphRelevant(new Set(['a']), ['a', 'b'])).to.equal(true)
    expect(graphRelevant(new Set(['a']), ['b'])).to.equal(false)
    expect(graphRelevant(new Set(['a']), undefined)).to.equal(true)
    expect(graphRelevant('all', ['b'])).to.equal(true)
    expect(() => queryPredicates('SELEC ?x WHERE {')).to.throw().with.property('name', 'SparqlSyntaxError')
    expect(() => queryPredicates('INSERT DATA { <a:a> <a:b> <a:c> }')).to.throw(/a query, not an update/)
  })
})
