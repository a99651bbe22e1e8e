import type { AboutView, GraphVersion } from '../../lib/knowledge/graph-store.js'
import type { KnowledgeQueryOptions, KnowledgeQueryResult, KnowledgeStats, MeshGraphView } from '../../lib/knowledge/knowledge.js'
import type { Extraction } from '../../lib/knowledge/extract.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'

/** What the knowledge endpoints need (the daemon's GraphStore and knowledge service provide it). */
export interface KnowledgeTarget {
  list(): GraphVersion[]
  /** every graph of the mesh, from the catalog */
  meshGraphs(): MeshGraphView[]
  stats(): KnowledgeStats
  add(name: string, data: string, options: { format?: string, baseIri?: string }): Promise<GraphVersion & { added: number }>
  addText(name: string, text: string, options: { source?: string, analyzer?: string }): Promise<GraphVersion & { added: number, item: string, extraction: Extraction }>
  update(name: string, sparql: string): Promise<GraphVersion & { added: number }>
  query(sparql: string, options: KnowledgeQueryOptions): Promise<KnowledgeQueryResult>
  about(nameOrIri: string, options: { scope: 'local' | 'mesh' }): Promise<AboutView>
}

/** A write of RDF in JSON: `{ data, format, baseIri }`; 16 MiB of RDF text at most. */
const MAX_ADD_BODY = 16 * 1024 * 1024 + 64 * 1024

export function knowledgeRoutes (target: KnowledgeTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/kg/graphs`]: async (_req, url) => {
      const scope = url.searchParams.get('scope') ?? 'local'
      if (scope !== 'local' && scope !== 'mesh') throw new InvalidRequestError('scope is local or mesh')
      return { body: scope === 'mesh' ? target.meshGraphs() : target.list() }
    },
    [`GET ${p}/kg/stats`]: async () => ({ body: target.stats() }),
    [`GET ${p}/kg/about`]: async (_req, url) => {
      const scope = url.searchParams.get('scope') ?? 'mesh'
      if (scope !== 'local' && scope !== 'mesh') throw new InvalidRequestError('scope is mesh (the default) or local')
      return { body: await target.about(url.searchParams.get('q') ?? '', { scope }) }
    },
    [`POST ${p}/kg/graphs/*`]: async (req, _url, _res, name) => {
      const { data, format, baseIri, text, source, update, analyzer } = await readJson(req, MAX_ADD_BODY)
      if (typeof update === 'string') return { body: await target.update(name, update) }
      if (typeof text === 'string') {
        if (source != null && typeof source !== 'string') throw new InvalidRequestError('"source" must be an IRI')
        if (analyzer != null && (typeof analyzer !== 'string' || analyzer === '')) throw new InvalidRequestError('"analyzer" must be the name of a mesh service')
        return { status: 201, body: await target.addText(name, text, { ...(source != null ? { source } : {}), ...(analyzer != null ? { analyzer } : {}) }) }
      }
      if (typeof data !== 'string') throw new InvalidRequestError('body must be { "data": "<RDF text>", "format"?: "turtle|ntriples|nquads|trig|rdfxml", "baseIri"?: "<IRI>" } or { "text": "<prose>", "source"?: "<IRI>", "analyzer"?: "<service>" }')
      if (format != null && typeof format !== 'string') throw new InvalidRequestError('"format" must be a string')
      if (baseIri != null && typeof baseIri !== 'string') throw new InvalidRequestError('"baseIri" must be a string')
      return { status: 201, body: await target.add(name, data, { ...(format != null ? { format } : {}), ...(baseIri != null ? { baseIri } : {}) }) }
    },
    [`POST ${p}/kg/query`]: async (req) => {
      const { query, limit, offset, timeoutMs, scope } = await readJson(req)
      if (typeof query !== 'string' || query === '') throw new InvalidRequestError('body must be { "query": "<SPARQL>", "scope"?: "local|mesh", "limit"?, "offset"?, "timeoutMs"? }')
      if (scope != null && scope !== 'local' && scope !== 'mesh') throw new InvalidRequestError('"scope" is "local" or "mesh"')
      const num = (v: unknown, what: string): number | undefined => {
        if (v == null) return undefined
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InvalidRequestError(`"${what}" must be a whole number`)
        return v
      }
      const options: KnowledgeQueryOptions = scope != null ? { scope } : {}
      const l = num(limit, 'limit')
      const o = num(offset, 'offset')
      const t = num(timeoutMs, 'timeoutMs')
      if (l != null) options.limit = l
      if (o != null) options.offset = o
      if (t != null) options.timeoutMs = t
      return { body: await target.query(query, options) }
    }
  }
}
