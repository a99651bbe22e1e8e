import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import oxigraph from 'oxigraph'
import type { Term } from 'oxigraph'
import { repoPaths } from '../../lib/repo/paths.js'
import { DaemonProcess, killAll, runCli, startDaemonMesh, json, untilResolvedHealthy } from '../utils/daemon-process.js'
import { waitFor } from '../utils/wait-for.js'
import { tmpDir } from '../utils/tmp-repo.js'

const EX = 'http://example.org/'
const S = 'https://schema.org/'

interface Row { [v: string]: { type: string, value: string, datatype?: string, 'xml:lang'?: string } }
interface QueryJson { kind: string, vars?: string[], bindings?: Row[], boolean?: boolean, nquads?: string, complete: boolean, sources: Array<{ graph: string, owner: string, status: string, tried?: Array<{ peer: string }> }>, skipped: number }

/**
 * Generated data over three owners, so that every interesting query joins
 * across daemons: people (and who knows whom) on the first, organisations
 * and who works where on the second, places and where each organisation
 * is on the third.
 */
function generate (): string[] {
  const people: string[] = []
  const orgs: string[] = []
  const places: string[] = []
  const first = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia', 'Leslie', 'Margaret', 'Ken']
  const cities = ['Lyon', 'Porto', 'Turku', 'Ghent', 'Brno', 'Graz']
  for (let i = 0; i < 60; i++) {
    people.push(`<${EX}p${i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${S}Person> .`)
    people.push(`<${EX}p${i}> <${S}name> "${first[i % first.length]!} ${i}" .`)
    people.push(`<${EX}p${i}> <${S}age> "${20 + (i * 7) % 45}"^^<http://www.w3.org/2001/XMLSchema#integer> .`)
    if (i % 3 !== 0) people.push(`<${EX}p${i}> <${S}knows> <${EX}p${(i * 5 + 1) % 60}> .`)
    orgs.push(`<${EX}p${i}> <${S}worksFor> <${EX}o${i % 9}> .`)
  }
  for (let o = 0; o < 9; o++) {
    orgs.push(`<${EX}o${o}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${S}Organization> .`)
    orgs.push(`<${EX}o${o}> <${S}name> "Org ${o}" .`)
    places.push(`<${EX}o${o}> <${S}location> <${EX}c${o % cities.length}> .`)
  }
  for (let c = 0; c < cities.length; c++) {
    places.push(`<${EX}c${c}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <${S}City> .`)
    places.push(`<${EX}c${c}> <${S}name> "${cities[c]!}"@en .`)
    places.push(`<${EX}c${c}> <${S}population> "${(c + 1) * 100000}"^^<http://www.w3.org/2001/XMLSchema#integer> .`)
  }
  return [people.join('\n') + '\n', orgs.join('\n') + '\n', places.join('\n') + '\n']
}

const P = `PREFIX s: <${S}> PREFIX ex: <${EX}> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> `
/** Twenty queries; all but the last few join graphs of different owners. */
const QUERIES = [
  'SELECT ?n ?o WHERE { ?p s:name ?n ; s:worksFor ?org . ?org s:name ?o }',
  'SELECT ?n ?city WHERE { ?p s:worksFor ?org . ?p s:name ?n . ?org s:location ?c . ?c s:name ?city }',
  'SELECT ?city (COUNT(?p) AS ?staff) WHERE { ?p s:worksFor/s:location ?c . ?c s:name ?city } GROUP BY ?city',
  'SELECT ?a ?b WHERE { ?x s:knows ?y . ?x s:worksFor ?o . ?y s:worksFor ?o . ?x s:name ?a . ?y s:name ?b }',
  'SELECT ?n WHERE { ?p a s:Person ; s:name ?n . FILTER NOT EXISTS { ?p s:knows ?q } }',
  'SELECT ?n ?city WHERE { ?p s:name ?n ; a s:Person . OPTIONAL { ?p s:worksFor/s:location/s:name ?city } }',
  'SELECT ?o (AVG(?age) AS ?mean) WHERE { ?p s:worksFor ?org ; s:age ?age . ?org s:name ?o } GROUP BY ?o',
  'SELECT ?n WHERE { ?p s:worksFor ?org . ?org s:location ?c . ?c s:population ?pop . ?p s:name ?n FILTER(?pop > 300000) }',
  'ASK { ?p s:worksFor ?o . ?o s:location ?c . ?c s:name "Lyon"@en }',
  'ASK { ?p s:worksFor ?o . ?o s:location ?c . ?c s:name "Atlantis"@en }',
  'SELECT DISTINCT ?city WHERE { ?p s:knows ?q . ?q s:worksFor/s:location ?c . ?c s:name ?city }',
  'SELECT ?n ?m WHERE { ?p s:knows ?q . ?p s:name ?n . ?q s:name ?m . ?p s:worksFor/s:location ?c . ?q s:worksFor/s:location ?c }',
  'CONSTRUCT { ?p ex:livesNear ?c } WHERE { ?p s:worksFor ?o . ?o s:location ?c }',
  'SELECT ?city (MAX(?age) AS ?oldest) WHERE { ?p s:age ?age ; s:worksFor/s:location/s:name ?city } GROUP BY ?city',
  'SELECT ?n WHERE { { ?x s:name ?n . ?x a s:City } UNION { ?x s:name ?n . ?x a s:Organization } }',
  // every graph (a variable predicate); the asker's derived graph of the mesh is left out, the oracle has none
  'SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(!STRENDS(STR(?g), "/mesh")) }',
  'SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(!STRENDS(STR(?g), "/mesh")) } GROUP BY ?g',
  'SELECT DISTINCT ?n ?city WHERE { ?p s:knows+ ?q . ?q s:worksFor/s:location/s:name ?city . ?p s:name ?n }',
  'SELECT ?n WHERE { ?p s:name ?n FILTER(STRSTARTS(?n, "Grace")) } ',
  'SELECT ?n WHERE { ?c a s:City ; s:name ?n ; s:population ?pop } ORDER BY DESC(?pop) LIMIT 3'
]

const termKey = (t: { type: string, value: string, datatype?: string, 'xml:lang'?: string } | undefined): string =>
  t == null ? '-' : `${t.type}:${t.value}${t['xml:lang'] != null ? `@${t['xml:lang']}` : ''}${t.datatype != null && t.datatype !== 'http://www.w3.org/2001/XMLSchema#string' && t['xml:lang'] == null ? `^^${t.datatype}` : ''}`

function oracleTerm (t: Term): { type: string, value: string, datatype?: string, 'xml:lang'?: string } {
  if (t.termType === 'NamedNode') return { type: 'uri', value: t.value }
  if (t.termType === 'Literal') return t.language !== '' ? { type: 'literal', value: t.value, 'xml:lang': t.language } : { type: 'literal', value: t.value, datatype: t.datatype.value }
  return { type: 'bnode', value: t.value }
}

/** An answer as a sorted list of strings: rows (or triples), so that order does not matter unless the query orders. */
function normalise (kind: string, vars: string[], rows: Row[] | undefined, boolean: boolean | undefined, nquads: string | undefined, ordered: boolean): string[] {
  if (kind === 'boolean') return [String(boolean)]
  if (kind === 'quads') return nquads!.split('\n').filter(l => l !== '').sort()
  const out = rows!.map(r => vars.map(v => `${v}=${termKey(r[v])}`).join(' '))
  return ordered ? out : out.sort()
}

describe('knowledge graphs across the mesh (daemon processes)', function () {
  this.timeout(180_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  before(async () => { dir = await tmpDir() })
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('answers 20 queries joining graphs of three owners exactly as one store holding all of them does (an oracle), asking only the graphs that can match', async () => {
    const mesh = await startDaemonMesh(join(dir.path, 'oracle'), 3)
    daemons.push(...mesh.daemons)
    const names = ['people', 'orgs', 'places']
    const data = generate()
    const oracle = new oxigraph.Store()
    for (let i = 0; i < 3; i++) {
      const file = join(dir.path, `${names[i]!}.nt`)
      await writeFile(file, data[i]!)
      await json(mesh.daemons[i]!, 'kg', 'add', file, '--graph', names[i]!, '--format', 'ntriples')
      oracle.load(data[i]!, { format: 'application/n-triples', to_graph_name: oxigraph.namedNode(`urn:noodle:graph:${mesh.ids[i]!}/${names[i]!}`) })
    }
    const asker = mesh.daemons[0]!
    await waitFor(async () => (await json<unknown[]>(asker, 'kg', 'graphs', '--mesh')).length === 3, { timeoutMs: 30_000, what: 'the catalog of daemon 0 to list the three graphs' })

    for (const q of QUERIES) {
      const sparql = P + q
      const got = await json<QueryJson>(asker, 'kg', 'query', sparql, '--scope', 'mesh', '--deadline', '10s')
      expect(got.complete, q).to.equal(true)
      const want = oracle.query(sparql, { use_default_graph_as_union: true })
      const ordered = /ORDER BY/.test(q)
      let expected: string[]
      if (typeof want === 'boolean') {
        expected = [String(want)]
      } else if (Array.isArray(want) && want.length > 0 && !(want[0] instanceof Map)) {
        expected = (want as Array<{ toString: () => string }>).map(t => `${t.toString()} .`).sort()
      } else {
        const rows = (want as Array<Map<string, Term>>).map(m => Object.fromEntries([...m].map(([k, v]) => [k, oracleTerm(v)])))
        const vars = got.vars ?? []
        expected = normalise('bindings', vars, rows, undefined, undefined, ordered)
      }
      const actual = normalise(got.kind, got.vars ?? [], got.bindings, got.boolean, got.nquads, ordered)
      expect(actual, q).to.deep.equal(expected)
      expect(actual.length, `${q} answers something`).to.be.greaterThan(0)
    }

    // source selection: a query over places' predicates alone leaves the other graphs out
    const only = await json<QueryJson>(asker, 'kg', 'query', `${P} SELECT ?c WHERE { ?c s:population ?p }`, '--scope', 'mesh')
    expect(only.sources.map(s => s.graph)).to.deep.equal([`urn:noodle:graph:${mesh.ids[2]!}/places`])
    expect(only.skipped).to.equal(2)
    expect(only.bindings).to.have.length(6)

    // the local scope is this daemon's own graphs only, even with the others loaded beside them
    const local = await json<QueryJson>(asker, 'kg', 'query', `${P} SELECT ?c WHERE { ?c s:population ?p }`)
    expect(local.bindings).to.have.length(0)

    // SPARQL 1.1 CSV for scripts, and `kg about` over the mesh: Org 3's statements live in two other daemons' graphs
    const csvOut = await asker.cli('kg', 'query', `${P} SELECT ?n WHERE { ?c a s:City ; s:name ?n } ORDER BY ?n`, '--scope', 'mesh', '--format', 'csv')
    expect(csvOut.stdout.trimEnd().split(/\r?\n/)).to.deep.equal(['n', 'Brno', 'Ghent', 'Graz', 'Lyon', 'Porto', 'Turku'])
    const about = await json<{ entities: Array<{ iri: string, facts: Array<{ graph: string }> }>, complete: boolean }>(asker, 'kg', 'about', 'Org 3')
    expect(about.complete).to.equal(true)
    expect(about.entities.map(e => e.iri)).to.deep.equal([`${EX}o3`])
    expect([...new Set(about.entities[0]!.facts.map(f => f.graph))].sort()).to.deep.equal([`urn:noodle:graph:${mesh.ids[1]!}/orgs`, `urn:noodle:graph:${mesh.ids[2]!}/places`].sort())
    expect((await json<{ entities: unknown[] }>(asker, 'kg', 'about', 'Org 3', '--scope', 'local')).entities).to.have.length(0)
  })

  it('answers a graph from a replica while its owner is SIGKILLed, and says complete: false naming the owner when no holder is left', async () => {
    const mesh = await startDaemonMesh(join(dir.path, 'replicas'), 4)
    daemons.push(...mesh.daemons)
    const [owner] = mesh.daemons as [DaemonProcess]
    const file = join(dir.path, 'cities.ttl')
    await writeFile(file, `@prefix s: <${S}> . <${EX}lyon> s:name "Lyon" . <${EX}porto> s:name "Porto" .\n`)
    const v = await json<{ iri: string, hash: string }>(owner, 'kg', 'add', file, '--graph', 'cities')
    // the catalog says who holds it besides its owner: the two members closest to its key
    const entry = await waitFor(async () => {
      const all = await json<Array<{ graph: string, holders: string[], owner: string }>>(mesh.daemons[3]!, 'kg', 'graphs', '--mesh')
      return all.find(g => g.graph === v.iri)
    }, { timeoutMs: 30_000, what: 'the graph in the catalog of another daemon' })
    expect(entry.owner).to.equal(mesh.ids[0])
    expect(entry.holders).to.have.length(2)
    expect(entry.holders).to.not.include(mesh.ids[0])
    const holderIdx = entry.holders.map(h => mesh.ids.indexOf(h))
    const asker = mesh.daemons[[1, 2, 3].find(i => !holderIdx.includes(i))!]!
    // each holder takes its replica (it says so in its stats)
    for (const i of holderIdx) {
      await waitFor(async () => (await json<{ replicasHeld: number }>(mesh.daemons[i]!, 'kg', 'stats')).replicasHeld === 1, { timeoutMs: 30_000, what: `holder ${i} to take its replica` })
    }

    await owner.kill('SIGKILL')
    const q = `SELECT ?n WHERE { ?c <${S}name> ?n } ORDER BY ?n`
    const fromReplica = await json<QueryJson>(asker, 'kg', 'query', q, '--scope', 'mesh', '--deadline', '5s')
    expect(fromReplica.complete).to.equal(true)
    expect(fromReplica.bindings!.map(b => b.n!.value)).to.deep.equal(['Lyon', 'Porto'])
    const source = fromReplica.sources.find(s => s.graph === v.iri)!
    expect(source.status).to.equal('fetched')
    expect(entry.holders).to.include((source as { from?: string }).from)

    // a second graph the asker never loaded: written, replicated, then owner and holders gone
    const mesh2 = await startDaemonMesh(join(dir.path, 'gone'), 4)
    daemons.push(...mesh2.daemons)
    const file2 = join(dir.path, 'rivers.ttl')
    await writeFile(file2, `@prefix s: <${S}> . <${EX}rhone> s:name "Rhone" .\n`)
    const v2 = await json<{ iri: string }>(mesh2.daemons[0]!, 'kg', 'add', file2, '--graph', 'rivers')
    const entry2 = await waitFor(async () => (await json<Array<{ graph: string, holders: string[] }>>(mesh2.daemons[1]!, 'kg', 'graphs', '--mesh')).find(g => g.graph === v2.iri), { timeoutMs: 30_000, what: 'the second graph in the catalog' })
    const holders2 = entry2.holders.map(h => mesh2.ids.indexOf(h))
    const asker2 = mesh2.daemons[[1, 2, 3].find(i => !holders2.includes(i))!]!
    await Promise.all([0, ...holders2].map(async i => await mesh2.daemons[i]!.kill('SIGKILL')))
    const started = Date.now()
    const partial = await json<QueryJson>(asker2, 'kg', 'query', q, '--scope', 'mesh', '--deadline', '3s')
    expect(Date.now() - started).to.be.lessThan(3_000 + 2_000) // the deadline, and a CLI start
    expect(partial.complete).to.equal(false)
    const gone = partial.sources.find(s => s.graph === v2.iri)!
    expect(gone.status).to.equal('unavailable')
    expect(gone.owner).to.equal(mesh2.ids[0])
    expect(gone.tried!.map(t => t.peer)).to.include(mesh2.ids[0])
    // and people reading the table are told
    const text = await asker2.cli('kg', 'query', q, '--scope', 'mesh', '--deadline', '3s')
    expect(text.stdout).to.include('incomplete').and.to.include(v2.iri)
  })

  it('takes entities and relations from a team\'s own analyzer, a mesh service on another daemon (--analyzer), with its name in the provenance; one that answers outside the contract writes nothing', async () => {
    // the team's analyzer: an HTTP service that calls every pair of capitalised words a person
    const servers: Server[] = []
    const analyzer = (answer: (text: string) => unknown): Promise<string> => new Promise((resolve) => {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string }
          res.writeHead(req.url === '/extract' ? 200 : 404, { 'content-type': 'application/json' })
          res.end(JSON.stringify(answer(text)))
        })
      })
      servers.push(server)
      server.listen(0, '127.0.0.1', () => { resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) })
    })
    try {
      const good = await analyzer((text) => {
        const people = [...text.matchAll(/\b([A-Z][a-z]+ [A-Z][a-z]+)\b/g)].map(m => ({ type: 'Person', name: m[1] }))
        return { analyzer: { name: 'caps-ner', version: '1.0' }, entities: [...people, { type: 'Topic', name: 'compilers' }], relations: people.slice(1).map(p => ({ subject: people[0], predicate: 'know', object: p })) }
      })
      const bad = await analyzer(() => ({ entities: 'none' }))
      const mesh = await startDaemonMesh(join(dir.path, 'analyzer'), 2)
      daemons.push(...mesh.daemons)
      const [a, b] = mesh.daemons as [DaemonProcess, DaemonProcess]
      await json(b, 'service', 'register', '--name', 'ner', '--endpoint', good)
      await json(b, 'service', 'register', '--name', 'bad-ner', '--endpoint', bad)
      for (const name of ['ner', 'bad-ner']) {
        await untilResolvedHealthy(a, name, 30_000)
      }
      const docs = join(dir.path, 'docs.jsonl')
      await writeFile(docs, [
        JSON.stringify({ text: 'Grace Hopper worked with Howard Aiken on compilers.', source: 'https://example.org/doc/1' }),
        JSON.stringify({ text: 'Grace Hopper met Jean Sammet.', source: 'https://example.org/doc/2' })
      ].join('\n') + '\n')
      const added = await json<Array<{ version: number, analyzer: { name: string } }>>(a, 'kg', 'add', '--graph', 'notes', '--documents', docs, '--analyzer', 'ner')
      expect(added.map(x => x.version)).to.deep.equal([1, 2])
      expect(added[0]!.analyzer.name).to.equal('caps-ner')
      // one node for Grace Hopper, derived from both documents, generated by the team's analyzer
      const grace = 'urn:noodle:entity:person/grace-hopper'
      const r = await json<QueryJson>(a, 'kg', 'query', `PREFIX prov: <http://www.w3.org/ns/prov#> SELECT ?src ?who WHERE { <${grace}> prov:wasDerivedFrom ?src ; prov:wasGeneratedBy ?act . ?act prov:wasAssociatedWith ?who } ORDER BY ?src`)
      expect([...new Set(r.bindings!.map(x => x.src!.value))]).to.deep.equal(['https://example.org/doc/1', 'https://example.org/doc/2'])
      expect(new Set(r.bindings!.map(x => x.who!.value))).to.deep.equal(new Set(['urn:noodle:analyzer:caps-ner/1.0']))
      const knows = await json<QueryJson>(a, 'kg', 'query', `SELECT ?o WHERE { <${grace}> <urn:noodle:relation:know> ?o } ORDER BY ?o`)
      expect(knows.bindings!.map(x => x.o!.value)).to.deep.equal(['urn:noodle:entity:person/howard-aiken', 'urn:noodle:entity:person/jean-sammet'])
      const topic = await json<QueryJson>(a, 'kg', 'query', 'ASK { <urn:noodle:entity:topic/compilers> a <urn:noodle:type:Topic> }')
      expect(topic.boolean).to.equal(true)

      // outside the contract: a named error, and no new version
      const refused = await a.cli('kg', 'add', '--graph', 'notes', '--text', 'Alan Turing', '--analyzer', 'bad-ner')
      expect(refused.code).to.equal(1)
      expect(refused.stderr).to.include('AnalyzerError').and.to.include('bad-ner')
      const missing = await a.cli('kg', 'add', '--graph', 'notes', '--text', 'Alan Turing', '--analyzer', 'no-such-service')
      expect(missing.code).to.equal(1)
      expect(missing.stderr).to.include('AnalyzerError').and.to.include('no-such-service')
      const graphs = await json<Array<{ name: string, version: number }>>(a, 'kg', 'graphs')
      expect(graphs.find(g => g.name === 'notes')!.version).to.equal(2)
    } finally {
      for (const s of servers) s.close()
    }
  })

  it('in a secure mesh writes a graph only with graph/write on kg:<name>, and every daemon refuses a version written without it', async () => {
    const repo = (name: string): string => join(dir.path, 'secure', name)
    const init = await runCli(['--repo', repo('a'), 'init', '--private', '--json'])
    expect(init.code, init.stderr).to.equal(0)
    const a = await DaemonProcess.start(repo('a'), ['--log-level', 'warn'])
    daemons.push(a)
    const withCap = await a.cli('invite', 'create', '--ttl', '1h', '--can', 'graph/write', '--with', 'kg:notes*')
    expect(withCap.code, withCap.stderr).to.equal(0)
    const plain = await a.cli('invite', 'create', '--ttl', '1h')
    expect((await runCli(['--repo', repo('b'), 'init', '--join', withCap.stdout.trim()])).code).to.equal(0)
    expect((await runCli(['--repo', repo('c'), 'init', '--join', plain.stdout.trim()])).code).to.equal(0)
    // c holds the swarm key but checks nothing (its operators removed by hand): a rogue member
    const cConfig = repoPaths(repo('c')).config
    const config = JSON.parse(await readFile(cConfig, 'utf8')) as { auth?: { operators: string[] } }
    await writeFile(cConfig, JSON.stringify({ ...config, auth: { operators: [] } }))
    const b = await DaemonProcess.start(repo('b'), ['--log-level', 'warn'])
    const c = await DaemonProcess.start(repo('c'), ['--log-level', 'warn'])
    daemons.push(b, c)
    const ttl = join(dir.path, 'secure-notes.ttl')
    await writeFile(ttl, `<${EX}ada> <${S}name> "Ada" .\n`)

    const ok = await json<{ iri: string }>(b, 'kg', 'add', ttl, '--graph', 'notes')
    const outside = await b.cli('kg', 'add', ttl, '--graph', 'other')
    expect(outside.code).to.equal(1)
    expect(outside.stderr).to.match(/UnauthorizedError: this node holds no token for graph\/write on kg:other/)
    expect((await json<Array<{ name: string }>>(b, 'kg', 'graphs')).map(g => g.name)).to.deep.equal(['notes'])

    // the rogue writes (its own node checks nothing); the enforcing daemons refuse its version
    const rogue = await json<{ iri: string }>(c, 'kg', 'add', ttl, '--graph', 'notes')
    await waitFor(async () => (await json<{ refused: { unauthorized: number } }>(a, 'kg', 'stats')).refused.unauthorized >= 1, { timeoutMs: 30_000, what: 'daemon a to refuse the rogue version' })
    await waitFor(async () => (await json<Array<{ graph: string }>>(a, 'kg', 'graphs', '--mesh')).some(g => g.graph === ok.iri), { timeoutMs: 30_000, what: 'b\'s graph in a\'s catalog' })
    const graphs = (await json<Array<{ graph: string }>>(a, 'kg', 'graphs', '--mesh')).map(g => g.graph)
    expect(graphs).to.include(ok.iri).and.not.to.include(rogue.iri)
    const audit = JSON.parse((await a.cli('audit', 'ls', '--json')).stdout) as Array<{ type: string, detail: { can?: string, reason?: string } }>
    expect(audit.some(e => e.type === 'denied' && e.detail.can === 'graph/write')).to.equal(true)
    expect(audit.some(e => e.type === 'graph-refused' && e.detail.reason === 'unauthorized')).to.equal(true)
  })
})
