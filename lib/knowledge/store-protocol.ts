/** Messages between the knowledge store (graph-store.ts) and its worker (store-worker.ts). */

/** A graph with more distinct predicates than this is summarised as "any" (graph-version.ts). */
export const MAX_SUMMARY_PREDICATES = 256

export type StoreRequest =
  | { id: number, op: 'add', graph: string, data: string, format: string, baseIri?: string }
  | { id: number, op: 'replace', graph: string, canonical: string }
  | { id: number, op: 'update', graph: string, sparql: string }
  | { id: number, op: 'drop', graph: string }
  | { id: number, op: 'query', sparql: string, limit: number, offset: number, graphs?: string[] }

export type StoreResponse =
  | { id: number, value: unknown }
  | { id: number, error: { name: string, message: string } }

/** One RDF term as the SPARQL 1.1 Query Results JSON Format writes it. */
export interface TermJson {
  type: 'uri' | 'bnode' | 'literal'
  value: string
  datatype?: string
  'xml:lang'?: string
}

/** A query's answer, one page of it: `total` is every row (or quad) the query produced. */
export type QueryAnswer =
  | { kind: 'bindings', vars: string[], bindings: Array<Record<string, TermJson>>, total: number }
  | { kind: 'boolean', boolean: boolean }
  | { kind: 'quads', nquads: string, total: number }
