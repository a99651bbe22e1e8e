import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { AboutView, GraphVersion } from '../../lib/knowledge/graph-store.js'
import type { KnowledgeQueryResult, MeshGraphView } from '../../lib/knowledge/knowledge.js'
import { csv, tsv } from '../../lib/knowledge/results-format.js'
import { parseDurationMs } from '../duration.js'
import { table } from '../printer.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import type { CommandRunner } from './types.js'

function graphsText (list: GraphVersion[]): string {
  if (list.length === 0) return 'no graphs here'
  return table(list.map(g => [g.name, String(g.version), String(g.quads), g.hash.slice(0, 16), g.iri]), ['GRAPH', 'VERSION', 'QUADS', 'HASH', 'IRI'])
}

/** A term for people: IRIs in angle brackets, literals as they are. */
const cell = (t: { type: string, value: string } | undefined): string => t == null ? '' : t.type === 'uri' ? `<${t.value}>` : t.value

function meshGraphsText (list: MeshGraphView[]): string {
  if (list.length === 0) return 'no graphs in the mesh'
  return table(list.map(g => [g.graph, String(g.version), String(g.quads), g.owner, g.holders.join(' ')]), ['GRAPH', 'VERSION', 'QUADS', 'OWNER', 'HOLDERS'])
}

function queryText (r: KnowledgeQueryResult): string {
  const unavailable = (r.sources ?? []).filter(s => s.status === 'unavailable')
  const notes = [
    ...(r.paged ? [`(more: ${'total' in r ? r.total : '?'} in all; ask again with --offset)`] : []),
    ...unavailable.map(s => `(incomplete: ${s.graph} of ${s.owner} was not served in time: ${(s.tried ?? []).map(t => `${t.peer} ${t.error}`).join('; ') || 'nobody to ask'})`)
  ]
  const more = notes.length > 0 ? `\n${notes.join('\n')}` : ''
  if (r.kind === 'boolean') return String(r.boolean) + more
  if (r.kind === 'quads') return r.nquads.replace(/\n$/, '') + more
  if (r.bindings.length === 0) return 'no results' + more
  return table(r.bindings.map(b => r.vars.map(v => cell(b[v]))), r.vars.map(v => v.toUpperCase())) + more
}

/** A predicate or type IRI for people: its last segment. */
const short = (iri: string): string => iri.replace(/^.*[/#:]/, '') || iri

function aboutText (v: AboutView): string {
  if (v.entities.length === 0) return `nothing known about "${v.query}"`
  return v.entities.map(e => {
    const head = `${e.names.join(' / ') || e.iri} (${e.types.map(short).join(', ') || 'no type'})  ${e.iri}`
    const facts = e.facts.filter(f => f.direction === 'in' || !['name', 'type', 'wasDerivedFrom', 'wasGeneratedBy'].includes(short(f.predicate)))
    const lines = facts.map(f => f.direction === 'out' ? `  ${short(f.predicate)} ${cell(f.value)}` : `  <- ${short(f.predicate)} of ${cell(f.value)}`)
    const sources = e.sources.length > 0 ? [`  sources: ${e.sources.join(', ')}`] : []
    return [head, ...lines, ...sources].join('\n')
  }).join('\n\n')
}

export function kgCommand (program: Command, run: CommandRunner): void {
  const kg = program.command('kg').description('knowledge graphs on this daemon: add RDF, query with SPARQL')

  kg.command('add [file]')
    .description('add RDF from a file (- for stdin), or what the analyzer finds in --text, to one of this daemon\'s graphs; answers once it is on disk')
    .requiredOption('--graph <name>', 'the graph (1-64 letters, digits, ".", "_", "-")')
    .option('--format <format>', 'turtle, ntriples, nquads, trig, rdfxml or jsonld', 'turtle')
    .option('--base <iri>', 'base IRI for relative IRIs')
    .option('--text <text>', 'prose: extract people, places, organisations, dates, numbers, topics and relations (with provenance) instead of reading RDF')
    .option('--source <iri>', 'with --text: the IRI of the item the text comes from')
    .option('--documents <file>', 'prose from a file of documents (- for stdin), JSON Lines: {"text": "...", "source": "<IRI>"} a line; each is one item')
    .option('--analyzer <service>', 'with --text or --documents: a mesh service that finds entities and relations (docs/knowledge.md, "Analyzers") instead of the built-in one')
    .option('--json', 'print JSON')
    .action(run(async (ctx, file: string | undefined, opts: { graph: string, format: string, base?: string, text?: string, source?: string, documents?: string, analyzer?: string }) => {
      const found = (v: { name: string, version: number, item: string, extraction: { entities: Array<{ name: string, type: string }>, relations: unknown[] }, analyzer?: { name: string, version: string } }): string =>
        `${v.name} version ${v.version}: ${v.extraction.entities.length} entities (${v.extraction.entities.map(e => `${e.name} [${e.type}]`).join(', ') || 'none'}), ${v.extraction.relations.length} relations, from ${v.item}${v.analyzer != null ? ` (by ${v.analyzer.name} ${v.analyzer.version})` : ''}`
      const analyzer = opts.analyzer != null ? { analyzer: opts.analyzer } : {}
      if (opts.text != null) {
        const x = await ctx.client.kgAddText(opts.graph, opts.text, opts.source, analyzer)
        ctx.print(x, found)
        return
      }
      if (opts.documents != null) {
        const raw = opts.documents === '-' ? (await ctx.stdin()).toString('utf8') : await readFile(opts.documents, 'utf8')
        const docs = raw.split('\n').map((line, i) => [line.trim(), i + 1] as const).filter(([line]) => line !== '').map(([line, n]) => {
          let doc: { text?: unknown, source?: unknown }
          try { doc = JSON.parse(line) } catch (err: any) { throw new InvalidRequestError(`${opts.documents} line ${n}: not JSON (${err.message})`) }
          if (typeof doc?.text !== 'string' || (doc.source != null && typeof doc.source !== 'string')) throw new InvalidRequestError(`${opts.documents} line ${n}: a document is {"text": "...", "source"?: "<IRI>"}`)
          return { text: doc.text, source: doc.source as string | undefined }
        })
        const out = []
        for (const d of docs) out.push(await ctx.client.kgAddText(opts.graph, d.text, d.source, analyzer))
        ctx.print(out, (all) => all.map(found).join('\n') || 'no documents')
        return
      }
      if (file == null) throw new InvalidRequestError('give a file of RDF (- for stdin) or --text')
      const data = file === '-' ? (await ctx.stdin()).toString('utf8') : await readFile(file, 'utf8')
      const v = await ctx.client.kgAdd(opts.graph, data, { format: opts.format, ...(opts.base != null ? { baseIri: opts.base } : {}) })
      ctx.print(v, (x) => `${x.name} version ${x.version}: ${x.quads} quads (${x.added} added), hash ${x.hash}`)
    }))

  kg.command('update <sparql>')
    .description('SPARQL Update on one of this daemon\'s graphs, and only on it (the graph is the update\'s default graph); answers once the new version is on disk')
    .requiredOption('--graph <name>', 'the graph')
    .option('--json', 'print JSON')
    .action(run(async (ctx, sparql: string, opts: { graph: string }) => {
      const v = await ctx.client.kgUpdate(opts.graph, sparql)
      ctx.print(v, (x) => `${x.name} version ${x.version}: ${x.quads} quads (${x.added >= 0 ? '+' : ''}${x.added}), hash ${x.hash}`)
    }))

  kg.command('graphs')
    .description('the graphs this daemon owns: version, quads, hash (--mesh: every graph in the mesh, its owner and holders)')
    .option('--mesh', 'every graph of the mesh, from the catalog')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { mesh?: boolean }) => {
      if (opts.mesh === true) ctx.print(await ctx.client.kgMeshGraphs(), meshGraphsText)
      else ctx.print(await ctx.client.kgGraphs(), graphsText)
    }))

  kg.command('stats')
    .description('the mesh\'s graphs as this daemon sees them: catalog size, replicas held, versions refused (forged, tampered, replayed, malformed), graphs served and fetched')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      ctx.print(await ctx.client.kgStats(), (s) => [
        `graphs in the catalog: ${s.graphs}`,
        `replicas held here:    ${s.replicasHeld}`,
        `versions refused:      ${Object.entries(s.refused).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `graphs served/fetched: ${s.served}/${s.fetched}`
      ].join('\n'))
    }))

  kg.command('about <name-or-iri>')
    .description('what the mesh\'s graphs (--scope local: this daemon\'s) say about an entity (by name, ignoring case, or by IRI), with its sources')
    .option('--scope <scope>', 'mesh (every graph, fetched from its owner or a replica) or local', 'mesh')
    .option('--json', 'print JSON')
    .action(run(async (ctx, q: string, opts: { scope: string }) => {
      if (opts.scope !== 'local' && opts.scope !== 'mesh') throw new InvalidRequestError(`--scope is local or mesh, not "${opts.scope}"`)
      ctx.print(await ctx.client.kgAbout(q, { scope: opts.scope }), (v) => aboutText(v) + ((v.sources ?? []).length > 0 ? `\n(incomplete: ${v.sources!.map(s => `${s.graph} of ${s.owner}`).join(', ')} not served in time)` : ''))
    }))

  kg.command('query <sparql>')
    .description('SELECT, ASK, CONSTRUCT or DESCRIBE over this daemon\'s graphs, or with --scope mesh every graph of the mesh (their union is the default graph)')
    .option('--scope <scope>', 'local (this daemon\'s graphs) or mesh (every graph, fetched from its owner or a replica)', 'local')
    .option('--limit <n>', 'rows at most (one page)')
    .option('--offset <n>', 'rows to skip (the next page)')
    .option('--deadline <duration>', 'time limit, e.g. 500ms or 2s (the daemon caps it)')
    .option('--timeout <duration>', 'the same as --deadline')
    .option('--format <format>', 'table (for people), json (the API\'s answer, as --json), csv or tsv (SPARQL 1.1 CSV/TSV results; CONSTRUCT and DESCRIBE print N-Triples)', 'table')
    .option('--json', 'print JSON')
    .action(run(async (ctx, sparql: string, opts: { scope: string, limit?: string, offset?: string, timeout?: string, deadline?: string, format: string }) => {
      if (opts.scope !== 'local' && opts.scope !== 'mesh') throw new InvalidRequestError(`--scope is local or mesh, not "${opts.scope}"`)
      if (!['table', 'json', 'csv', 'tsv'].includes(opts.format)) throw new InvalidRequestError(`--format is table, json, csv or tsv, not "${opts.format}"`)
      const body: { scope: 'local' | 'mesh', limit?: number, offset?: number, timeoutMs?: number } = { scope: opts.scope }
      if (opts.limit != null) body.limit = Number(opts.limit)
      if (opts.offset != null) body.offset = Number(opts.offset)
      const limit = opts.deadline ?? opts.timeout
      if (limit != null) body.timeoutMs = parseDurationMs(limit, opts.deadline != null ? '--deadline' : '--timeout')
      const result = await ctx.client.kgQuery(sparql, body)
      if (opts.format === 'json' || ctx.json) {
        ctx.out(JSON.stringify(result, null, 2))
      } else if (opts.format === 'csv' || opts.format === 'tsv') {
        // the bytes a SPARQL client expects, without a trailing line of our own
        const text = result.kind === 'quads' ? result.nquads : opts.format === 'csv' ? csv(result) : tsv(result)
        ctx.out(text.replace(/\r?\n$/, ''))
        const unavailable = result.sources.filter(s => s.status === 'unavailable')
        if (unavailable.length > 0) ctx.err(`incomplete: ${unavailable.map(s => s.graph).join(', ')} not served in time`)
      } else {
        ctx.out(queryText(result))
      }
    }))
}
