import { InvalidRequestError } from '../interface/errors.js'
import type { QueryAnswer, TermJson } from './store-protocol.js'

/** `kg about`: each entity matched, its names, types and sources, and every statement it is in. */
export interface AboutView {
  query: string
  entities: Array<{
    iri: string
    names: string[]
    types: string[]
    /** what it was derived from (prov:wasDerivedFrom) */
    sources: string[]
    facts: Array<{ direction: 'in' | 'out', predicate: string, value: TermJson, graph: string }>
  }>
}

/**
 * The query behind `kg about`: an entity given by IRI, or by name (any
 * subject whose schema:name or rdfs:label is the name, ignoring case), and
 * each statement with it as subject or object, with the graph it is in.
 */
export function aboutQuery (nameOrIri: string): { query: string, sparql: string } {
  const q = nameOrIri.trim()
  if (q === '') throw new InvalidRequestError('about what? give a name or an IRI')
  const iri = /^<[^<>"{}|^`\\\s]+>$/.test(q) ? q.slice(1, -1) : /^[a-z][a-z0-9+.-]*:[^<>"{}|^`\\\s]+$/i.test(q) ? q : undefined
  const str = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`
  const who = iri != null
    ? `VALUES ?e { <${iri}> }`
    : `{ ?e <https://schema.org/name> ?n } UNION { ?e <http://www.w3.org/2000/01/rdf-schema#label> ?n } FILTER(LCASE(STR(?n)) = LCASE(${str(q)}))`
  return {
    query: q,
    sparql: `SELECT ?e ?dir ?p ?o ?g WHERE { { SELECT DISTINCT ?e WHERE { GRAPH ?any { ${who} } } }
      { GRAPH ?g { ?e ?p ?o } BIND("out" AS ?dir) } UNION { GRAPH ?g { ?o ?p ?e } BIND("in" AS ?dir) } } ORDER BY ?e ?dir ?p ?o`
  }
}

/** The answer to aboutQuery, entity by entity: names, types and sources picked out of its statements. */
export function aboutView (query: string, res: QueryAnswer): AboutView {
  const view: AboutView = { query, entities: [] }
  if (res.kind !== 'bindings') return view
  const byEntity = new Map<string, AboutView['entities'][number]>()
  for (const b of res.bindings) {
    const e = b.e!.value
    let entry = byEntity.get(e)
    if (entry == null) {
      entry = { iri: e, names: [], types: [], sources: [], facts: [] }
      byEntity.set(e, entry)
      view.entities.push(entry)
    }
    const p = b.p!.value
    const o = b.o!
    if (b.dir!.value === 'out' && (p === 'https://schema.org/name' || p === 'http://www.w3.org/2000/01/rdf-schema#label') && !entry.names.includes(o.value)) entry.names.push(o.value)
    if (b.dir!.value === 'out' && p === 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type' && !entry.types.includes(o.value)) entry.types.push(o.value)
    if (b.dir!.value === 'out' && p === 'http://www.w3.org/ns/prov#wasDerivedFrom' && !entry.sources.includes(o.value)) entry.sources.push(o.value)
    entry.facts.push({ direction: b.dir!.value as 'in' | 'out', predicate: p, value: o, graph: b.g!.value })
  }
  return view
}
