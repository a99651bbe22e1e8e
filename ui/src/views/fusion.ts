import { api } from '../api.js'
import { h, shortId } from '../dom.js'
import { Loader } from '../loader.js'
import type { State } from '../store.js'

/** The parts of `GET /fuse/tasks`, `/fuse/stats` and a decision (`/fuse/decisions/<id>`) shown here (lib/fusion has them whole). */
interface TaskEntry { task: { name: string, labels: string[], modalities: string[], rule?: string, deadlineMs?: number }, processors: Array<{ name: string, modality: string, service: string, calibrated: boolean }> }
interface Stats { fusions: number, partial: number, deadlineMissed: number, shed: number, hedges: number, hedgeWins: number, hedgesDenied: number, recorded: number }
interface Decision {
  id: string
  task: string
  label: string
  confidence: number
  partial: boolean
  rule: string
  deadlineMs: number
  elapsedMs: number
  endedAt: string
  inputs: Array<{ modality: string, mediaType: string, sha256: string, bytes: number }>
  processors: Array<{ processor: string, modality: string, service: string, status: string, hedged: boolean, instance?: string, module?: string, latencyMs?: number, error?: string }>
  context?: { id: string, previous: string, status: string, used: boolean }
}
interface Row { f: { value: string }, task: { value: string }, label: { value: string }, ended: { value: string }, elapsed: { value: string }, partial: { value: string } }

const RECENT = 'PREFIX v: <urn:noodle:vocab:>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n' +
  'SELECT ?f ?task ?label ?ended ?elapsed ?partial WHERE { ?f a v:Fusion ; v:task ?task ; prov:endedAtTime ?ended ; v:elapsedMs ?elapsed ; v:partial ?partial ; prov:generated ?r . ?r v:label ?label } ORDER BY DESC(?ended) LIMIT 25'

const loader = new Loader(async () => {
  const [tasks, stats, recent] = await Promise.all([
    api<TaskEntry[]>('/fuse/tasks'),
    api<Stats>('/fuse/stats'),
    api<{ bindings?: Row[] }>('/kg/query', { method: 'POST', body: { query: RECENT, scope: 'local' } })
  ])
  return { tasks, stats, recent: recent.bindings ?? [] }
}, 3000)

/** The decision opened, and why it could not be read */
const view: { open?: Decision, error?: string } = {}

async function explain (id: string, rerender: () => void): Promise<void> {
  try {
    view.open = await api<Decision>(`/fuse/decisions/${encodeURIComponent(id)}`)
    delete view.error
  } catch (err: any) {
    view.error = `${String(err.name)}: ${String(err.message)}`
  }
  rerender()
}

/** Fusion: tasks and their processors, this daemon's counters, its latest decisions, and one decision's provenance. */
export function fusion (state: State, rerender: () => void): HTMLElement {
  loader.refresh(state.updatedAt, rerender)
  const s = loader.value?.stats
  const d = view.open
  return h('section', { class: 'fusion' },
    h('h2', {}, 'Fusion ', h('span', { class: 'muted' }, h('button', { type: 'button', onclick: () => { void loader.load(rerender) } }, 'refresh'))),
    loader.error != null ? h('p', { class: 'error' }, loader.error) : null,
    view.error != null ? h('p', { class: 'error' }, view.error) : null,
    s == null ? null : h('p', { 'data-test': 'fusion-stats' }, `${s.fusions} fusions here (${s.partial} partial); not answered: ${s.deadlineMissed} ready after the deadline, ${s.shed} refused as overloaded; hedges ${s.hedges} (won ${s.hedgeWins}, ${s.hedgesDenied} over the budget); ${s.recorded} recorded`),
    h('h3', {}, 'Tasks'),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'task'), h('th', {}, 'modalities'), h('th', {}, 'labels'), h('th', {}, 'rule'), h('th', {}, 'deadline'), h('th', {}, 'processors'))),
      h('tbody', {}, ...(loader.value?.tasks ?? []).map(t => h('tr', { 'data-task': t.task.name },
        h('td', {}, t.task.name), h('td', {}, t.task.modalities.join(', ')), h('td', {}, t.task.labels.length), h('td', {}, t.task.rule ?? 'auto'),
        h('td', {}, `${t.task.deadlineMs ?? 200} ms`),
        h('td', {}, ...t.processors.map(p => h('span', { class: 'tag', title: `service ${p.service}${p.calibrated ? ', calibrated' : ''}` }, `${p.name} (${p.modality})`))))))),
    h('h3', {}, 'Latest decisions here'),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'ended'), h('th', {}, 'task'), h('th', {}, 'label'), h('th', {}, 'elapsed'), h('th', {}, 'partial'))),
      h('tbody', {}, ...(loader.value?.recent ?? []).map(r => {
        const id = r.f.value.replace('urn:noodle:fusion:', '')
        return h('tr', { class: 'clickable', 'data-fusion': id, onclick: () => { void explain(id, rerender) } },
          h('td', {}, new Date(r.ended.value).toLocaleTimeString()), h('td', {}, r.task.value.replace('urn:noodle:fusion:task:', '')),
          h('td', {}, r.label.value), h('td', {}, `${Number(r.elapsed.value).toFixed(1)} ms`), h('td', {}, r.partial.value === 'true' ? 'partial' : ''))
      }))),
    d == null ? null : h('div', { class: 'detail', 'data-test': 'decision' },
      h('h3', {}, `Decision ${d.id}`),
      h('p', {}, `task ${d.task}: ${d.label === '' ? 'no label' : `"${d.label}"`} at ${(d.confidence * 100).toFixed(1)} %, rule ${d.rule}, ${d.elapsedMs} of ${d.deadlineMs} ms${d.partial ? ', partial' : ''}`),
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'modality'), h('th', {}, 'processor'), h('th', {}, 'status'), h('th', {}, 'latency'), h('th', {}, 'hedged'), h('th', {}, 'instance'), h('th', {}, 'module'), h('th', {}, 'error'))),
        h('tbody', {}, ...d.processors.map(p => h('tr', {},
          h('td', {}, p.modality), h('td', {}, p.processor), h('td', { class: p.status === 'ok' ? 'status-alive' : 'status-suspect' }, p.status),
          h('td', {}, p.latencyMs != null ? `${p.latencyMs} ms` : ''), h('td', {}, p.hedged ? 'yes' : ''),
          h('td', { class: 'mono', title: p.instance ?? '' }, p.instance != null ? shortId(p.instance) : ''), h('td', { class: 'mono', title: p.module ?? '' }, p.module != null ? `${p.module.slice(0, 12)}…` : ''), h('td', {}, p.error ?? ''))))),
      h('p', { class: 'muted' }, `inputs: ${d.inputs.map(i => `${i.modality} ${i.mediaType} ${i.bytes} bytes sha256 ${i.sha256.slice(0, 12)}…`).join('; ')}`),
      d.context != null ? h('p', { class: 'muted' }, `context ${d.context.id}: ${d.context.status}${d.context.used ? ', used' : ''}; before: "${d.context.previous}"`) : null))
}
