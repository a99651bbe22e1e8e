import { parentPort } from 'node:worker_threads'
import oxigraph from 'oxigraph'
import type { Quad, Term } from 'oxigraph'
import { canonicalNTriples, graphHash, predicatesOf, skolemise } from './canonical.js'
import { MAX_SUMMARY_PREDICATES, type QueryAnswer, type StoreRequest, type StoreResponse, type TermJson } from './store-protocol.js'

/**
 * The knowledge store's worker thread: an in-memory Oxigraph store holding
 * every graph of this daemon. Oxigraph is synchronous, so it runs here, off
 * the daemon's event loop; a query that overruns is stopped by ending this
 * thread (graph-store.ts), which reloads the durable copy into a new one.
 * Requests are served one at a time, in order.
 */
const store = new oxigraph.Store()

const N_TRIPLES = 'application/n-triples'

/** The graph's triples, canonical (dumping one graph gives its triples, without the graph's name). */
function graphTriples (graph: string): string {
  return canonicalNTriples(store.dump({ format: N_TRIPLES, from_graph_name: oxigraph.namedNode(graph) }))
}

/**
 * Whether a write may hold blank nodes (which must be skolemised one by
 * one): N-Triples, N-Quads and Turtle/TriG only with a `_:` label, an
 * anonymous `[`, or a collection `(`; JSON-LD and RDF/XML always may.
 * A false positive only costs the slower path.
 */
function mayHaveBlankNodes (format: string, data: string): boolean {
  if (format === 'application/n-triples' || format === 'application/n-quads') return data.includes('_:')
  if (format === 'text/turtle' || format === 'application/trig') return data.includes('_:') || data.includes('[') || data.includes('(')
  return true
}

function termJson (t: Term): TermJson {
  if (t.termType === 'NamedNode') return { type: 'uri', value: t.value }
  if (t.termType === 'BlankNode') return { type: 'bnode', value: t.value }
  if (t.termType === 'Literal') {
    return t.language !== ''
      ? { type: 'literal', value: t.value, 'xml:lang': t.language }
      : { type: 'literal', value: t.value, datatype: t.datatype.value }
  }
  return { type: 'literal', value: String(t.value) }
}

/** A written graph's new content, its hash and its summary. */
function outcome (graph: string, added: number): { canonical: string, hash: string, added: number, predicates?: string[] } {
  const canonical = graphTriples(graph)
  const predicates = predicatesOf(canonical, MAX_SUMMARY_PREDICATES)
  return { canonical, hash: graphHash(canonical), added, ...(predicates != null ? { predicates } : {}) }
}

/**
 * Run a query over `graphs` (their union is the default graph; GRAPH sees
 * only them), or over every graph held when none are named.
 */
function query (sparql: string, limit: number, offset: number, graphs?: string[]): QueryAnswer {
  const scope = graphs == null
    ? { use_default_graph_as_union: true }
    : { default_graph: graphs.map(g => oxigraph.namedNode(g)), named_graphs: graphs.map(g => oxigraph.namedNode(g)) }
  const result = store.query(sparql, scope)
  if (typeof result === 'boolean') return { kind: 'boolean', boolean: result }
  const rows = result as Array<Map<string, Term> | Quad>
  const page = rows.slice(offset, offset + limit)
  if (rows.length > 0 && !(rows[0] instanceof Map)) {
    const quads = page as Quad[]
    return { kind: 'quads', nquads: quads.map(q => q.toString() + ' .').join('\n') + (quads.length > 0 ? '\n' : ''), total: rows.length }
  }
  const vars: string[] = []
  const seen = new Set<string>()
  const bindings = (page as Array<Map<string, Term>>).map(m => {
    const row: Record<string, TermJson> = {}
    for (const [k, v] of m) {
      if (!seen.has(k)) { seen.add(k); vars.push(k) }
      row[k] = termJson(v)
    }
    return row
  })
  return { kind: 'bindings', vars, bindings, total: rows.length }
}

function serve (req: StoreRequest): unknown {
  switch (req.op) {
    case 'add': {
      const graph = oxigraph.namedNode(req.graph)
      const base = req.baseIri != null ? { base_iri: req.baseIri } : {}
      let added: number
      if (mayHaveBlankNodes(req.format, req.data)) {
        // parse first (a write that does not parse changes nothing), then skolemise quad by quad
        const parsed = oxigraph.parse(req.data, { format: req.format, to_graph_name: graph, ...base })
        for (const q of skolemise(parsed, req.graph)) store.add(q)
        added = parsed.length
      } else {
        // no blank node can come out of it: the engine's own loader, in one transaction (a
        // syntax error leaves the store as it was), without a JS object per quad; measured
        // 25x faster than parsing to quads and adding them one by one
        const before = store.size
        store.load(req.data, { format: req.format, to_graph_name: graph, ...base })
        added = store.size - before
      }
      return outcome(req.graph, added)
    }
    case 'update': {
      // SPARQL Update on one graph only: run on a scratch store holding that graph as its default
      // graph, so the update cannot touch any other graph; the default graph after it is the new
      // content (blank nodes it made are skolemised like a write's)
      const scratch = new oxigraph.Store()
      const current = graphTriples(req.graph)
      if (current !== '') scratch.load(current, { format: N_TRIPLES })
      scratch.update(req.sparql)
      const after = scratch.match(null, null, null, oxigraph.defaultGraph())
      if (scratch.size !== after.length) throw new Error('an update of one graph may not write to other graphs (GRAPH <...> in the update)')
      const before = store.size
      store.update(`DROP SILENT GRAPH <${req.graph}>`)
      for (const q of skolemise(after, req.graph)) store.add(q)
      // net: negative when the update removed more than it inserted
      return outcome(req.graph, store.size - before)
    }
    case 'replace': {
      store.update(`DROP SILENT GRAPH <${req.graph}>`)
      if (req.canonical !== '') store.load(req.canonical, { format: N_TRIPLES, to_graph_name: oxigraph.namedNode(req.graph) })
      return { hash: graphHash(graphTriples(req.graph)) }
    }
    case 'drop':
      store.update(`DROP SILENT GRAPH <${req.graph}>`)
      return null
    case 'query':
      return query(req.sparql, req.limit, req.offset, req.graphs)
  }
}

parentPort!.on('message', (req: StoreRequest) => {
  let res: StoreResponse
  try {
    res = { id: req.id, value: serve(req) }
  } catch (err: any) {
    res = { id: req.id, error: { name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) } }
  }
  parentPort!.postMessage(res)
})
