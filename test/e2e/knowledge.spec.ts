import { writeFile } from 'node:fs/promises'
import { ApiClient } from '../../lib/client/api-client.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { join } from 'node:path'
import { expect } from 'chai'
import { SparqlEndpointFetcher } from 'fetch-sparql-endpoint'
import { DaemonProcess, killAll, startDaemonMesh, json } from '../utils/daemon-process.js'
import { waitFor } from '../utils/wait-for.js'
import { tmpDir } from '../utils/tmp-repo.js'

const TURTLE = `@prefix ex: <http://example.org/> .
@prefix schema: <https://schema.org/> .
ex:ada a schema:Person ; schema:name "Ada Lovelace" ; schema:knows ex:charles .
ex:charles a schema:Person ; schema:name "Charles Babbage" .
`

describe('knowledge graphs on a daemon process (noodled kg)', function () {
  this.timeout(120_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  before(async () => { dir = await tmpDir() })
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('adds Turtle from a file, answers SPARQL, refuses bad RDF with its line, and keeps every acknowledged write through a restart and a SIGKILL', async () => {
    const repo = join(dir.path, 'kg')
    let d = await DaemonProcess.start(repo)
    daemons.push(d)
    const file = join(dir.path, 'people.ttl')
    await writeFile(file, TURTLE)
    const v1 = await json<{ name: string, version: number, quads: number, hash: string }>(d, 'kg', 'add', file, '--graph', 'people')
    expect(v1).to.include({ name: 'people', version: 1, quads: 5 })

    const q = 'PREFIX schema: <https://schema.org/> SELECT ?n WHERE { ?p schema:name ?n } ORDER BY ?n'
    const text = await d.cli('kg', 'query', q)
    expect(text.code, text.stderr).to.equal(0)
    expect(text.stdout).to.match(/^N\n/).and.to.include('Ada Lovelace').and.to.include('Charles Babbage')

    const bad = join(dir.path, 'bad.ttl')
    await writeFile(bad, '@prefix ex: <http://example.org/> .\nex:a ex:b "no end .\n')
    const refused = await d.cli('kg', 'add', bad, '--graph', 'people')
    expect(refused.code).to.equal(1)
    expect(refused.stderr).to.include('RdfSyntaxError').and.to.match(/line 2/)
    const syntax = await d.cli('kg', 'query', 'SELEC ?x WHERE {')
    expect(syntax.code).to.equal(1)
    expect(syntax.stderr).to.include('SparqlSyntaxError')

    // a clean restart: the same graph, byte for byte
    await d.kill('SIGTERM')
    d = await DaemonProcess.start(repo)
    daemons.push(d)
    const graphs = await json<Array<{ name: string, version: number, hash: string }>>(d, 'kg', 'graphs')
    expect(graphs).to.deep.equal([{ ...graphs[0], name: 'people', version: 1, hash: v1.hash }])

    // SIGKILL right after an acknowledged write: the write is there after the restart
    const more = join(dir.path, 'more.nt')
    await writeFile(more, '<http://example.org/ada> <https://schema.org/birthDate> "1815-12-10" .\n')
    const v2 = await json<{ version: number, hash: string }>(d, 'kg', 'add', more, '--graph', 'people', '--format', 'ntriples')
    await d.kill('SIGKILL')
    d = await DaemonProcess.start(repo)
    daemons.push(d)
    const after = await json<Array<{ name: string, version: number, hash: string }>>(d, 'kg', 'graphs')
    expect(after[0]).to.include({ name: 'people', version: 2, hash: v2.hash })
    const ask = await json<{ kind: string, boolean: boolean }>(d, 'kg', 'query', 'ASK { <http://example.org/ada> <https://schema.org/birthDate> ?d }')
    expect(ask).to.include({ kind: 'boolean', boolean: true })
  })

  it('keeps every acknowledged write when SIGKILLed in the middle of a stream of large writes; the write in flight is all there or not at all, nothing corrupt', async () => {
    const repo = join(dir.path, 'midwrite')
    const d = await DaemonProcess.start(repo)
    daemons.push(d)
    const client = new ApiClient({ socketPath: repoPaths(repo).apiSocket, repo })
    const batch = (g: number): string => Array.from({ length: 20_000 }, (_, i) => `<http://example.org/g${g}/s${i}> <http://example.org/p> "${g}-${i}" .`).join('\n') + '\n'
    const acked = new Map<string, string>()
    for (let g = 0; g < 3; g++) acked.set(`g${g}`, (await client.kgAdd(`g${g}`, batch(g), { format: 'ntriples' })).hash)
    // the fourth write is on its way when the daemon is killed
    const inFlight = client.kgAdd('g3', batch(3), { format: 'ntriples' }).then(v => v.hash, () => undefined)
    await d.kill('SIGKILL')
    const lastHash = await inFlight
    const d2 = await DaemonProcess.start(repo)
    daemons.push(d2)
    const graphs = await json<Array<{ name: string, hash: string, quads: number }>>(d2, 'kg', 'graphs')
    for (const [name, hash] of acked) expect(graphs.find(g => g.name === name), name).to.include({ hash, quads: 20_000 })
    const g3 = graphs.find(g => g.name === 'g3')
    if (lastHash != null) expect(g3).to.include({ hash: lastHash })
    // not acknowledged: absent, or (durable just before the kill) whole
    if (g3 != null) expect(g3.quads).to.equal(20_000)
    const count = await json<{ bindings: Array<{ n: { value: string } }> }>(d2, 'kg', 'query', 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }', '--scope', 'local')
    expect(Number(count.bindings[0]!.n.value)).to.be.at.least(60_000)
  })

  it('extracts entities and relations from text with their provenance (noodled kg add --text), and one entity named in two items is one node with both sources', async () => {
    const d = await DaemonProcess.start(join(dir.path, 'text'))
    daemons.push(d)
    const first = await json<{ version: number, item: string, extraction: { entities: Array<{ name: string, type: string }>, relations: unknown[] } }>(d, 'kg', 'add', '--graph', 'notes', '--text', 'Ada Lovelace worked with Charles Babbage in London.', '--source', 'https://example.org/notes/1')
    expect(first.item).to.equal('https://example.org/notes/1')
    expect(first.extraction.entities.map(e => `${e.type}:${e.name}`).sort()).to.deep.equal(['Person:Ada Lovelace', 'Person:Charles Babbage', 'Place:London'])
    expect(first.extraction.relations.length).to.be.greaterThan(0)
    const human = await d.cli('kg', 'add', '--graph', 'notes', '--text', 'Charles Babbage met Ada Lovelace in Paris.', '--source', 'https://example.org/notes/2')
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.match(/notes version 2: \d+ entities \(.*Ada Lovelace \[Person\]/)
    const sources = await json<{ kind: string, bindings: Array<Record<string, { value: string }>> }>(d, 'kg', 'query',
      'SELECT ?src WHERE { ?e <https://schema.org/name> "Ada Lovelace" ; <http://www.w3.org/ns/prov#wasDerivedFrom> ?src } ORDER BY ?src')
    expect(sources.bindings.map(b => b.src!.value)).to.deep.equal(['https://example.org/notes/1', 'https://example.org/notes/2'])
    // the same through `kg about`, for people who do not write SPARQL
    const about = await json<{ entities: Array<{ names: string[], types: string[], sources: string[] }> }>(d, 'kg', 'about', 'ada lovelace')
    expect(about.entities).to.have.length(1)
    expect(about.entities[0]).to.deep.include({ names: ['Ada Lovelace'], types: ['https://schema.org/Person'], sources: ['https://example.org/notes/1', 'https://example.org/notes/2'] })
    const aboutText = await d.cli('kg', 'about', 'Ada Lovelace')
    expect(aboutText.stdout).to.match(/^Ada Lovelace \(Person\)/).and.to.include('work <urn:noodle:entity:person/charles-babbage>').and.to.include('sources: https://example.org/notes/1')
    expect((await d.cli('kg', 'about', 'Nobody Here')).stdout).to.include('nothing known about "Nobody Here"')
    const refused = await d.cli('kg', 'add', '--graph', 'notes', '--text', 'x', '--source', 'not an iri')
    expect(refused.code).to.equal(1)
    expect(refused.stderr).to.include('absolute IRI')
  })

  it('the mesh describes itself: a deploy shows as the service and its owners, a SIGKILLed member as failed, in the graph any daemon queries', async () => {
    const mesh = await startDaemonMesh(join(dir.path, 'mesh'), 3)
    daemons.push(...mesh.daemons)
    const [d0, , d2] = mesh.daemons as [DaemonProcess, DaemonProcess, DaemonProcess]
    const spec = join(dir.path, 'web.json')
    await writeFile(spec, JSON.stringify({ name: 'web', replicas: 2 }))
    await json(d0, 'service', 'deploy', spec)
    const owners = await waitFor(async () => {
      const r = await json<{ bindings: Array<Record<string, { value: string }>> }>(d0, 'kg', 'query', 'SELECT ?o WHERE { <urn:noodle:service:web> <urn:noodle:vocab:owner> ?o }')
      return r.bindings.length === 2 ? r.bindings.map(b => b.o!.value) : undefined
    }, { timeoutMs: 30_000, what: 'the deployed service and its two owners in the mesh graph' })
    for (const o of owners) expect(mesh.ids.map(id => `urn:noodle:member:${id}`)).to.include(o)
    const ask = (status: string): string => `ASK { <urn:noodle:member:${mesh.ids[2]}> <urn:noodle:vocab:status> "${status}" }`
    expect(await json(d0, 'kg', 'query', ask('alive'))).to.include({ boolean: true })
    await d2.kill('SIGKILL')
    await waitFor(async () => (await json<{ boolean: boolean }>(d0, 'kg', 'query', ask('failed'))).boolean, { timeoutMs: 30_000, what: 'the killed member to show as failed in the mesh graph' })
  })

  it('speaks the SPARQL 1.1 Protocol on the gateway: a client nobody here wrote (Comunica\'s fetch-sparql-endpoint) gets bindings, ASK and CONSTRUCT; CSV and TSV by Accept; bad queries 400, updates 405', async () => {
    const d = await DaemonProcess.start(join(dir.path, 'sparql'), ['--gateway', '127.0.0.1:0'])
    daemons.push(d)
    const gateway = /gateway: +(http:\/\/\S+)/.exec(d.stdout)![1]!
    const file = join(dir.path, 'people2.ttl')
    await writeFile(file, TURTLE)
    await json(d, 'kg', 'add', file, '--graph', 'people')
    const endpoint = `${gateway}/sparql`
    const fetcher = new SparqlEndpointFetcher()

    const names: string[] = []
    const bindings = await fetcher.fetchBindings(endpoint, 'PREFIX schema: <https://schema.org/> SELECT ?p ?n WHERE { ?p schema:name ?n } ORDER BY ?n')
    await new Promise<void>((resolve, reject) => {
      bindings.on('data', (b: Record<string, { termType: string, value: string }>) => { names.push(`${b.p!.termType} ${b.p!.value} ${b.n!.value}`) })
      bindings.on('end', resolve)
      bindings.on('error', reject)
    })
    expect(names).to.deep.equal(['NamedNode http://example.org/ada Ada Lovelace', 'NamedNode http://example.org/charles Charles Babbage'])
    expect(await fetcher.fetchAsk(endpoint, 'ASK { <http://example.org/ada> <https://schema.org/knows> <http://example.org/charles> }')).to.equal(true)
    const triples: string[] = []
    const stream = await fetcher.fetchTriples(endpoint, 'CONSTRUCT { ?p <http://xmlns.com/foaf/0.1/name> ?n } WHERE { ?p <https://schema.org/name> ?n }')
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (q: { subject: { value: string }, object: { value: string } }) => { triples.push(`${q.subject.value} ${q.object.value}`) })
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    expect(triples.sort()).to.deep.equal(['http://example.org/ada Ada Lovelace', 'http://example.org/charles Charles Babbage'])

    const q = encodeURIComponent('SELECT ?n WHERE { ?p <https://schema.org/name> ?n } ORDER BY ?n')
    const csv = await fetch(`${endpoint}?query=${q}`, { headers: { accept: 'text/csv' } })
    expect(csv.headers.get('content-type')).to.match(/^text\/csv/)
    expect(await csv.text()).to.equal('n\r\nAda Lovelace\r\nCharles Babbage\r\n')
    const tsv = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sparql-query', accept: 'text/tab-separated-values' }, body: decodeURIComponent(q) })
    expect(await tsv.text()).to.equal('?n\n"Ada Lovelace"\n"Charles Babbage"\n')
    expect(tsv.headers.get('x-noodle-complete')).to.equal('true')

    const bad = await fetch(`${endpoint}?query=${encodeURIComponent('SELEC ?x WHERE {')}`)
    expect(bad.status).to.equal(400)
    expect(((await bad.json()) as { error: { name: string } }).error.name).to.equal('SparqlSyntaxError')
    const update = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'update=' + encodeURIComponent('INSERT DATA { <a:a> <a:b> <a:c> }') })
    expect(update.status).to.equal(405)
  })
})
