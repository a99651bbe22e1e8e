import { expect } from 'chai'
import { defaultLogger } from '@libp2p/logger'
import { Level } from 'level'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import { checkGraphVersion } from '../../lib/knowledge/graph-version.js'
import { rejection } from '../utils/rejection.js'
import { tmpDir } from '../utils/tmp-repo.js'

const log = defaultLogger().forComponent('test:knowledge')
const OWNER = '12D3KooWExampleOwner'

const PEOPLE = `
@prefix ex: <http://example.org/> .
@prefix schema: <https://schema.org/> .
ex:ada a schema:Person ; schema:name "Ada Lovelace" ; schema:knows ex:charles .
ex:charles a schema:Person ; schema:name "Charles Babbage" ; schema:address [ schema:addressLocality "London" ] .
`

describe('knowledge store (Oxigraph in a worker, durable in level)', function () {
  this.timeout(60_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const stores: GraphStore[] = []
  const open = async (opts: Partial<ConstructorParameters<typeof GraphStore>[0]> = {}): Promise<GraphStore> => {
    const s = new GraphStore({ path: `${dir.path}/kg`, owner: OWNER, log, ...opts })
    stores.push(s)
    await s.start()
    return s
  }
  beforeEach(async () => { dir = await tmpDir() })
  afterEach(async () => {
    await Promise.all(stores.splice(0).map(async s => { await s.stop() }))
    await dir.cleanup()
  })

  it('answers SPARQL over what was added, and a restart restores every graph byte for byte (same canonical hash, blank nodes skolemised)', async () => {
    const s = await open()
    const v = await s.add('people', PEOPLE)
    expect(v).to.include({ name: 'people', iri: `urn:noodle:graph:${OWNER}/people`, version: 1, quads: 7, added: 7 })
    const names = await s.query('PREFIX schema: <https://schema.org/> SELECT ?n WHERE { ?p a schema:Person ; schema:name ?n } ORDER BY ?n')
    expect(names.kind).to.equal('bindings')
    expect(names.kind === 'bindings' && names.bindings.map(b => b.n!.value)).to.deep.equal(['Ada Lovelace', 'Charles Babbage'])
    expect(names.complete).to.equal(true)
    const before = s.get('people')
    expect(before.canonical).to.not.include('_:')
    expect(before.canonical).to.include(`<urn:noodle:graph:${OWNER}/people/.well-known/genid/`)
    await s.stop()

    const again = await open()
    const after = again.get('people')
    expect(after.hash).to.equal(before.hash)
    expect(after.canonical).to.equal(before.canonical)
    const ask = await again.query('ASK { ?s <https://schema.org/addressLocality> "London" }')
    expect(ask).to.include({ kind: 'boolean', boolean: true })
    // a second write makes a new version of the same graph
    expect(await again.add('people', '<http://example.org/ada> <https://schema.org/birthDate> "1815-12-10" .', { format: 'ntriples' })).to.include({ version: 2, quads: 8 })
  })

  it('refuses RDF that does not parse with the line and column, and changes nothing', async () => {
    const s = await open()
    const v1 = await s.add('people', PEOPLE)
    const err = await rejection(s.add('people', '@prefix ex: <http://example.org/> .\nex:a ex:b "unterminated .\n'))
    expect(err.name).to.equal('RdfSyntaxError')
    expect(err.message).to.match(/line 2/)
    expect(s.get('people')).to.include({ version: 1, hash: v1.hash })
    const bad = await rejection(s.add('no spaces allowed', PEOPLE))
    expect(bad.name).to.equal('InvalidRequestError')
    const unknown = await rejection(s.add('people', PEOPLE, { format: 'yaml' }))
    expect(unknown.message).to.include('unknown RDF format')
    // JSON-LD with an inline context is taken; a remote context is refused, nothing is fetched
    const jsonld = await s.add('ld', JSON.stringify({ '@context': { name: 'https://schema.org/name' }, '@id': 'http://example.org/grace', name: 'Grace Hopper' }), { format: 'jsonld' })
    expect(jsonld).to.include({ quads: 1 })
    const remote = await rejection(s.add('ld', JSON.stringify({ '@context': 'https://schema.org/', name: 'x' }), { format: 'jsonld' }))
    expect(remote.name).to.equal('RdfSyntaxError')
    expect(remote.message).to.match(/remote context/i)
  })

  it('names where each input format fails to parse (line and column; RDF/XML: what is wrong), and keeps the graph as it was', async () => {
    const s = await open()
    const v1 = await s.add('people', PEOPLE)
    const broken: Record<string, [string, RegExp]> = {
      turtle: ['@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d "open .\n', /line 3/],
      ntriples: ['<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n<http://example.org/a> <http://example.org/b> bad .\n', /line 2 (column|between columns) \d+/],
      nquads: ['<http://example.org/a> <http://example.org/b> <http://example.org/c> <http://example.org/g> .\n<http://example.org/a> <http://example.org/b> .\n', /line 2 (column|between columns) \d+/],
      trig: ['@prefix ex: <http://example.org/> .\nex:g {\n  ex:a ex:b ex:c .\n  ex:a ex:b\n', /line 5 (column|between columns) \d+/],
      // Oxigraph's RDF/XML parser says what is wrong but not where
      rdfxml: ['<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n  <rdf:Description rdf:about="http://example.org/a">\n</rdf:RDF>\n', /expected `<\/rdf:Description>`/],
      jsonld: ['{ "@context": { "name": "https://schema.org/name" }, "@id": "http://example.org/a", "name": ', /line 1 (column|between columns) \d+/]
    }
    for (const [format, [text, where]] of Object.entries(broken)) {
      const err = await rejection(s.add('people', text, { format }))
      expect(err.name, format).to.equal('RdfSyntaxError')
      expect(err.message, format).to.match(where)
      expect(err.message, format).to.include('graph "people"')
    }
    expect(s.get('people')).to.include({ version: 1, hash: v1.hash })
  })

  it('signs each version with the owner\'s key, and refuses to load one whose signed record was changed at rest', async () => {
    const key = await generateKeyPair('Ed25519')
    const owner = peerIdFromPrivateKey(key).toString()
    const s = await open({ key, owner })
    const v = await s.add('people', PEOPLE)
    expect(v.signed?.record).to.include({ owner, version: 1, hash: v.hash, graph: `urn:noodle:graph:${owner}/people` })
    expect(await checkGraphVersion(v.signed!, key.publicKey, s.get('people').canonical)).to.equal(undefined)
    await s.stop()
    const db = new Level<string, string>(`${dir.path}/kg`)
    const stored = JSON.parse(await db.get('graph:people') as string)
    stored.signed.record.quads = 99
    await db.put('graph:people', JSON.stringify(stored))
    await db.close()
    const err = await rejection(new GraphStore({ path: `${dir.path}/kg`, owner, key, log }).start())
    expect(err.name).to.equal('GraphCorruptError')
    expect(err.message).to.include('signed version record').and.to.include('forged')
  })

  it('names a stored graph whose bytes do not match their hash, and loads nothing from it', async () => {
    const s = await open()
    await s.add('people', PEOPLE)
    await s.stop()
    const db = new Level<string, string>(`${dir.path}/kg`)
    const stored = JSON.parse(await db.get('graph:people') as string)
    stored.canonical = stored.canonical.replace('Ada', 'Eve')
    await db.put('graph:people', JSON.stringify(stored))
    await db.close()
    const corrupt = new GraphStore({ path: `${dir.path}/kg`, owner: OWNER, log })
    const err = await rejection(corrupt.start())
    expect(err.name).to.equal('GraphCorruptError')
    expect(err.message).to.include('graph "people"')
  })

  it('stops a query past its time limit without stalling the caller, and answers the next one from the reloaded store', async () => {
    const s = await open({ queryTimeoutMs: 300 })
    const triples = Array.from({ length: 400 }, (_, i) => `<http://example.org/n${i}> <http://example.org/p> ${i} .`).join('\n')
    await s.add('numbers', triples)
    // a cross product of 400^3 rows: minutes of work for the engine
    let ticks = 0
    const ticker = setInterval(() => { ticks++ }, 10)
    const t0 = performance.now()
    const err = await rejection(s.query('SELECT (COUNT(*) AS ?c) WHERE { ?a ?p ?x . ?b ?p ?y . ?c2 ?p ?z }'))
    clearInterval(ticker)
    expect(err.name).to.equal('QueryTimeoutError')
    expect(performance.now() - t0).to.be.below(5_000)
    // the event loop kept turning while the engine worked
    expect(ticks).to.be.greaterThan(10)
    const count = await s.query('SELECT (COUNT(*) AS ?c) WHERE { ?s ?p ?o }')
    expect(count.kind === 'bindings' && count.bindings[0]!.c!.value).to.equal('400')
  })

  it('applies SPARQL Update to one graph only, as a new durable version; a bad update, or one writing another graph, changes nothing', async () => {
    const s = await open()
    await s.add('people', PEOPLE)
    await s.add('other', '<http://example.org/x> <http://example.org/y> "z" .', { format: 'ntriples' })
    const v = await s.update('people', 'PREFIX schema: <https://schema.org/> DELETE WHERE { ?p schema:name "Charles Babbage" } ; INSERT DATA { <http://example.org/ada> schema:birthDate "1815-12-10" . <http://example.org/ada> schema:spouse [ schema:name "William King" ] }')
    expect(v).to.include({ name: 'people', version: 2 })
    const names = await s.query('SELECT ?n WHERE { ?p <https://schema.org/name> ?n } ORDER BY ?n')
    expect(names.kind === 'bindings' && names.bindings.map(b => b.n!.value)).to.deep.equal(['Ada Lovelace', 'William King'])
    expect(s.get('people').canonical).to.not.include('_:')
    // a DELETE WHERE without GRAPH reached only this graph
    await s.update('people', 'DELETE WHERE { ?s ?p ?o }')
    expect(s.get('other').quads).to.equal(1)
    expect(s.get('people').quads).to.equal(0)
    const before = s.get('people').hash
    expect((await rejection(s.update('people', 'INSERT DATA { GRAPH <urn:x> { <a:a> <a:b> <a:c> } }'))).message).to.include('other graphs')
    const bad = await rejection(s.update('people', 'INSERT DATUM { }'))
    expect(bad.name).to.equal('SparqlSyntaxError')
    expect(s.get('people').hash).to.equal(before)
  })

  it('clears one graph as a new durable version with no triples, leaving the others; an unknown graph is named', async () => {
    let s = await open()
    await s.add('people', PEOPLE)
    await s.add('other', '<http://example.org/x> <http://example.org/y> "z" .', { format: 'ntriples' })
    const had = s.get('people').quads
    const v = await s.clear('people')
    expect(v).to.include({ name: 'people', version: 2, quads: 0, added: -had })
    const rows = await s.query('SELECT ?s WHERE { ?s ?p ?o }')
    expect(rows.kind === 'bindings' && rows.bindings.map(b => b.s!.value)).to.deep.equal(['http://example.org/x'])
    expect((await rejection(s.clear('nobody'))).message).to.include('no graph "nobody"')
    await s.stop()
    s = await open()
    expect(s.get('people')).to.include({ version: 2, quads: 0 })
    expect(s.get('other').quads).to.equal(1)
  })

  it('pages large answers: limit and offset, with complete false until the last page', async () => {
    const s = await open({ maxRows: 50 })
    await s.add('numbers', Array.from({ length: 120 }, (_, i) => `<http://example.org/n${i}> <http://example.org/p> ${i} .`).join('\n'))
    const q = 'SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?o'
    const first = await s.query(q)
    expect(first.kind === 'bindings' && first.bindings.length).to.equal(50)
    expect(first).to.include({ complete: false, total: 120 })
    const last = await s.query(q, { offset: 100 })
    expect(last.kind === 'bindings' && last.bindings.length).to.equal(20)
    expect(last.complete).to.equal(true)
    const syntax = await rejection(s.query('SELEC ?s WHERE {'))
    expect(syntax.name).to.equal('SparqlSyntaxError')
  })
})
