import sparqljs from 'sparqljs'
import { SparqlSyntaxError } from '../interface/errors.js'

/**
 * Which predicates a query can match, for source selection: a graph none of
 * whose predicates is among them contributes no solution to any triple
 * pattern of the query, so leaving it out changes no answer. `'all'` when
 * that cannot be said from the query's text: a variable predicate, a
 * property path that matches without an edge (`p*`, `p?`) or with any edge
 * but one (`!p`), `GRAPH ?g` (which enumerates graphs, empty ones
 * included), DESCRIBE, and a SERVICE clause.
 *
 * Parsed with SPARQL.js (the parser of the Comunica federation engine); a
 * query it refuses is a SparqlSyntaxError with its position.
 */
export function queryPredicates (sparql: string): Set<string> | 'all' {
  let parsed: any
  try {
    parsed = new sparqljs.Parser().parse(sparql)
  } catch (err: any) {
    throw new SparqlSyntaxError(String(err?.message ?? err).split('\n').slice(0, 3).join(' '))
  }
  if (parsed.type === 'update') throw new SparqlSyntaxError('a query, not an update (SPARQL Update goes to one graph of the daemon that owns it)')
  if (parsed.queryType === 'DESCRIBE') return 'all'
  const found = new Set<string>()
  let all = false
  const path = (p: any): void => {
    if (p == null || all) return
    if (p.termType === 'NamedNode') { found.add(p.value); return }
    if (p.termType != null) { all = true; return } // a variable
    if (p.type === 'path') {
      if (p.pathType === '*' || p.pathType === '?' || p.pathType === '!') { all = true; return }
      for (const item of p.items ?? []) path(item)
    }
  }
  const visit = (node: any): void => {
    if (all || node == null || typeof node !== 'object') return
    if (Array.isArray(node)) { for (const n of node) visit(n); return }
    if (node.type === 'graph' && node.name?.termType === 'Variable') { all = true; return }
    if (node.type === 'service') { all = true; return }
    if (node.type === 'bgp') { for (const t of node.triples ?? []) path(t.predicate); return }
    // triples in CONSTRUCT templates are not matched against any graph
    for (const [k, v] of Object.entries(node)) if (k !== 'template' && k !== 'prefixes') visit(v)
  }
  visit(parsed)
  return all ? 'all' : found
}

/** Whether a graph with these predicates (undefined: not summarised) can matter to the query. */
export function graphRelevant (wanted: Set<string> | 'all', predicates: readonly string[] | undefined): boolean {
  if (wanted === 'all' || predicates == null) return true
  return predicates.some(p => wanted.has(p))
}
