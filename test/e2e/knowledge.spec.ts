import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { DaemonProcess, killAll } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'

const TURTLE = `@prefix ex: <http://example.org/> .
@prefix schema: <https://schema.org/> .
ex:ada a schema:Person ; schema:name "Ada Lovelace" ; schema:knows ex:charles .
ex:charles a schema:Person ; schema:name "Charles Babbage" .
`

async function json<T> (d: DaemonProcess, ...args: string[]): Promise<T> {
  const res = await d.cli(...args, '--json')
  if (res.code !== 0) throw new Error(`${args.join(' ')}: ${res.stderr}`)
  return JSON.parse(res.stdout) as T
}

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
})
