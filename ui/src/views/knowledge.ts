import { api } from '../api.js'
import { h, shortId } from '../dom.js'

/** A SPARQL answer as `POST /api/v1/kg/query` gives it (lib/knowledge: the store's answer and how a mesh query was had). */
interface QueryAnswer {
  kind: 'bindings' | 'boolean' | 'quads'
  vars?: string[]
  bindings?: Array<Record<string, { type: string, value: string, datatype?: string, 'xml:lang'?: string }>>
  boolean?: boolean
  nquads?: string
  total?: number
  complete: boolean
  paged?: boolean
  elapsedMs: number
  scope?: string
  sources?: Array<{ graph: string, owner: string, version: number, status: string, from?: string }>
  skipped?: number
}

const EXAMPLES: Array<{ title: string, query: string }> = [
  { title: 'members and their status', query: 'PREFIX v: <urn:noodle:vocab:>\nSELECT ?member ?status WHERE {\n  ?member a v:Member ; v:status ?status .\n} ORDER BY ?status ?member' },
  { title: 'services and their owners', query: 'PREFIX v: <urn:noodle:vocab:>\nSELECT ?service ?owner WHERE {\n  ?service a v:Service ; v:owner ?owner .\n} ORDER BY ?service' },
  { title: 'graphs in the mesh', query: 'PREFIX v: <urn:noodle:vocab:>\nSELECT ?graph ?owner ?version WHERE {\n  ?graph a v:Graph ; v:owner ?owner ; v:version ?version .\n}' },
  { title: 'the latest fusion decisions', query: 'PREFIX v: <urn:noodle:vocab:>\nPREFIX prov: <http://www.w3.org/ns/prov#>\nSELECT ?fusion ?task ?label ?ended WHERE {\n  ?fusion a v:Fusion ; v:task ?task ; prov:endedAtTime ?ended ; prov:generated ?r .\n  ?r v:label ?label .\n} ORDER BY DESC(?ended) LIMIT 20' }
]

const view: { query: string, scope: 'local' | 'mesh', running: boolean, answer?: QueryAnswer, error?: string } = { query: EXAMPLES[0]!.query, scope: 'local', running: false }

async function run (rerender: () => void): Promise<void> {
  view.running = true
  delete view.error
  rerender()
  try {
    view.answer = await api<QueryAnswer>('/kg/query', { method: 'POST', body: { query: view.query, scope: view.scope, limit: 1000 } })
  } catch (err: any) {
    delete view.answer
    view.error = `${String(err.name)}: ${String(err.message)}`
  } finally {
    view.running = false
    rerender()
  }
}

function term (t: { type: string, value: string, datatype?: string } | undefined): Node | string {
  if (t == null) return ''
  if (t.type === 'uri') return h('span', { class: 'mono', title: t.value }, t.value.startsWith('urn:noodle:member:') ? `member ${shortId(t.value.slice(18))}` : t.value)
  return t.value
}

/** A SPARQL console over this daemon's graphs or the whole mesh's, with example queries. */
export function knowledge (_state: unknown, rerender: () => void): HTMLElement {
  const text = h('textarea', { name: 'query', rows: 8, spellcheck: 'false' })
  text.value = view.query
  text.addEventListener('input', () => { view.query = text.value })
  const a = view.answer
  return h('section', { class: 'knowledge' },
    h('h2', {}, 'Knowledge graph'),
    h('div', { class: 'filters' },
      h('select', { name: 'example', onchange: (e: Event) => { const ex = EXAMPLES[Number((e.target as HTMLSelectElement).value)]; if (ex != null) { view.query = ex.query; rerender() } } },
        h('option', { value: '' }, 'example queries…'), ...EXAMPLES.map((ex, i) => h('option', { value: i }, ex.title))),
      h('select', { name: 'scope', onchange: (e: Event) => { view.scope = (e.target as HTMLSelectElement).value as 'local' | 'mesh' } },
        h('option', { value: 'local', selected: view.scope === 'local' }, 'this daemon\'s graphs'),
        h('option', { value: 'mesh', selected: view.scope === 'mesh' }, 'the whole mesh')),
      h('button', { type: 'button', name: 'run', disabled: view.running, onclick: () => { void run(rerender) } }, view.running ? 'running…' : 'Run')),
    text,
    view.error != null ? h('p', { class: 'error', 'data-test': 'query-error' }, view.error) : null,
    a == null ? null : h('div', { class: 'answer' },
      h('p', { class: 'muted', 'data-test': 'complete' },
        a.kind === 'bindings' ? `${a.bindings?.length ?? 0} rows${a.total != null ? ` of ${a.total}` : ''}` : a.kind,
        `, ${a.complete ? 'complete' : 'incomplete: rows or graphs were left out'}`,
        `, ${a.elapsedMs.toFixed(1)} ms`,
        a.scope === 'mesh' ? `, ${a.sources?.length ?? 0} graphs read (${(a.sources ?? []).filter(s => s.status === 'unavailable').length} unavailable), ${a.skipped ?? 0} skipped` : ''),
      a.kind === 'boolean' ? h('p', { class: 'big' }, String(a.boolean)) : null,
      a.kind === 'quads' ? h('pre', {}, a.nquads ?? '') : null,
      a.kind === 'bindings'
        ? h('table', { 'data-test': 'results' },
          h('thead', {}, h('tr', {}, ...(a.vars ?? []).map(v => h('th', {}, v)))),
          h('tbody', {}, ...(a.bindings ?? []).map(row => h('tr', {}, ...(a.vars ?? []).map(v => h('td', {}, term(row[v])))))))
        : null,
      a.scope === 'mesh' && (a.sources?.length ?? 0) > 0
        ? h('details', {}, h('summary', {}, 'graphs read'), h('table', {}, h('tbody', {}, ...(a.sources ?? []).map(s => h('tr', {}, h('td', { class: 'mono' }, s.graph), h('td', {}, `v${s.version}`), h('td', {}, s.status), h('td', { class: 'mono' }, s.from != null ? shortId(s.from) : ''))))))
        : null))
}
