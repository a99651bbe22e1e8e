import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidRequestError, MethodNotAllowedError } from '../lib/interface/errors.js'
import { csv, resultsJson, tsv } from '../lib/knowledge/results-format.js'
import type { KnowledgeQueryOptions, KnowledgeQueryResult } from '../lib/knowledge/knowledge.js'
import type { TermJson } from '../lib/knowledge/store-protocol.js'
import { readBody } from './api/http.js'

/** What the SPARQL endpoint needs: a query over the daemon's graphs. */
export interface SparqlTarget {
  query(sparql: string, options: KnowledgeQueryOptions): Promise<KnowledgeQueryResult>
}

/** A query in a POST body is text; 1 MiB is far beyond any hand-written or generated query. */
const MAX_QUERY_BYTES = 1024 * 1024

const RESULTS_JSON = 'application/sparql-results+json'
const CSV = 'text/csv'
const TSV = 'text/tab-separated-values'
const N_TRIPLES = 'application/n-triples'
const TURTLE = 'text/turtle'

/**
 * The SPARQL 1.1 Protocol's query operation (https://www.w3.org/TR/sparql11-protocol/#query-operation):
 * `GET /sparql?query=...`, `POST /sparql` with `application/x-www-form-urlencoded`
 * (`query=...`) or `application/sparql-query` (the query as the body).
 * SELECT and ASK answer in the SPARQL 1.1 Query Results JSON Format (default),
 * CSV or TSV; CONSTRUCT and DESCRIBE in N-Triples (also served as Turtle, of
 * which it is a subset). A malformed query is 400, one past its time limit
 * 504. The dataset is every graph of the mesh (their union is the default
 * graph; `?scope=local`: this daemon's own); `default-graph-uri` and
 * `named-graph-uri` are refused (FROM and FROM NAMED in the query say the
 * same). An answer cut at the row limit, or without a graph no daemon
 * served in time (named in `x-noodle-unavailable`), says so in
 * `x-noodle-complete: false`.
 */
export async function serveSparql (req: IncomingMessage, res: ServerResponse, url: URL, target: SparqlTarget): Promise<void> {
  const query = await queryOf(req, url)
  if (url.searchParams.has('default-graph-uri') || url.searchParams.has('named-graph-uri')) {
    throw new InvalidRequestError('default-graph-uri and named-graph-uri are not supported: name graphs with FROM / FROM NAMED in the query')
  }
  // the mesh's graphs unless ?scope=local: a client that knows nothing of noodled asks the mesh
  const scope = url.searchParams.get('scope') ?? 'mesh'
  if (scope !== 'mesh' && scope !== 'local') throw new InvalidRequestError('scope is mesh (the default) or local')
  const result = await target.query(query, { scope })
  const accept = req.headers.accept ?? ''
  let body: string
  let type: string
  if (result.kind === 'quads') {
    type = prefers(accept, [N_TRIPLES, TURTLE]) ?? N_TRIPLES
    body = result.nquads
  } else {
    type = prefers(accept, [RESULTS_JSON, CSV, TSV, 'application/json']) ?? RESULTS_JSON
    body = type === CSV ? csv(result) : type === TSV ? tsv(result) : JSON.stringify(resultsJson(result))
    if (type === 'application/json') type = RESULTS_JSON
  }
  res.writeHead(200, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
    'x-noodle-complete': String(result.complete),
    // graphs no daemon served in time: the answer is without them
    ...(result.sources.some(s => s.status === 'unavailable') ? { 'x-noodle-unavailable': result.sources.filter(s => s.status === 'unavailable').map(s => s.graph).join(' ') } : {})
  })
  res.end(body)
}

async function queryOf (req: IncomingMessage, url: URL): Promise<string> {
  let query: string | null = null
  if (req.method === 'GET') {
    query = url.searchParams.get('query')
  } else if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const body = (await readBody(req, MAX_QUERY_BYTES)).toString('utf8')
    if (type === 'application/sparql-query') query = body
    else if (type === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(body)
      if (form.has('update')) throw new MethodNotAllowedError('SPARQL Update is not served at this endpoint')
      query = form.get('query')
      for (const k of ['default-graph-uri', 'named-graph-uri']) if (form.has(k)) url.searchParams.set(k, form.get(k)!)
    } else throw new InvalidRequestError('POST a query as application/sparql-query or as application/x-www-form-urlencoded query=...')
  } else {
    throw new MethodNotAllowedError(`${req.method ?? ''} not allowed: use GET or POST`)
  }
  if (query == null || query.trim() === '') throw new InvalidRequestError('no query: give it as ?query=... or in the body')
  return query
}

/** The first of `offered` the Accept header takes (q-values respected, `*` wildcards too); undefined when it takes none. */
export function prefers (accept: string, offered: string[]): string | undefined {
  if (accept.trim() === '') return undefined
  const ranges = accept.split(',').map((part, i) => {
    const [range, ...params] = part.trim().split(';').map(s => s.trim())
    const q = params.find(p => p.startsWith('q='))
    return { range: range!.toLowerCase(), q: q == null ? 1 : Number(q.slice(2)), i }
  }).filter(r => r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i)
  for (const r of ranges) {
    const found = offered.find(o => r.range === o || r.range === '*/*' || (r.range.endsWith('/*') && o.startsWith(r.range.slice(0, -1))))
    if (found != null) return found
  }
  return undefined
}
