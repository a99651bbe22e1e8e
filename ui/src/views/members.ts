import type { MemberStatus, MemberView } from '../../../lib/interface/api.js'
import { bytes, duration, h, shortId } from '../dom.js'
import type { State } from '../store.js'

interface Column {
  key: string
  title: string
  value: (m: MemberView) => string | number
  show: (m: MemberView) => Node | string
}

const COLUMNS: Column[] = [
  { key: 'peer', title: 'member', value: m => m.peerId, show: m => h('span', { class: 'mono', title: m.peerId }, shortId(m.peerId), m.self ? h('span', { class: 'tag' }, 'this') : null) },
  { key: 'status', title: 'status', value: m => m.status, show: m => h('span', { class: `status status-${m.status}` }, m.status, m.suspectedBy != null ? ` (${m.suspectedBy})` : '') },
  { key: 'for', title: 'for', value: m => m.statusForMs, show: m => duration(m.statusForMs) },
  { key: 'incarnation', title: 'incarnation', value: m => m.incarnation, show: m => String(m.incarnation) },
  { key: 'rtt', title: 'RTT', value: m => m.rttMs ?? -1, show: m => m.rttMs != null ? `${m.rttMs.toFixed(1)} ms` : '' },
  { key: 'load', title: 'load', value: m => m.resources.cpus > 0 ? m.resources.load1 / m.resources.cpus : 0, show: m => `${m.resources.load1.toFixed(2)} / ${m.resources.cpus} cpus` },
  { key: 'memory', title: 'memory free', value: m => m.resources.memFree, show: m => `${bytes(m.resources.memFree)} of ${bytes(m.resources.memTotal)}` },
  { key: 'slots', title: 'slots', value: m => m.resources.slotsTotal - m.resources.slotsUsed, show: m => `${m.resources.slotsUsed} / ${m.resources.slotsTotal}` },
  { key: 'services', title: 'services', value: m => m.services.length, show: m => h('span', { title: m.services.join(', ') }, String(m.services.length)) },
  { key: 'labels', title: 'labels', value: m => Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(' '), show: m => h('span', {}, ...Object.entries(m.labels).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))) },
  { key: 'version', title: 'version', value: m => m.version, show: m => m.version }
]

const STATUSES: Array<MemberStatus | ''> = ['', 'alive', 'suspect', 'failed', 'left']

/** What the members view keeps across renders: sort and filters. */
const view = { sort: 'peer', desc: false, status: '' as MemberStatus | '', label: '' }

/** `key` or `key=value`, as `noodled members --label` takes them. */
function labelMatches (m: MemberView, filter: string): boolean {
  if (filter.trim() === '') return true
  return filter.trim().split(/\s+/).every(f => {
    const i = f.indexOf('=')
    return i < 0 ? f in m.labels : m.labels[f.slice(0, i)] === f.slice(i + 1)
  })
}

export function members (state: State, rerender: () => void): HTMLElement {
  const col = COLUMNS.find(c => c.key === view.sort) ?? COLUMNS[0]!
  const rows = state.members
    .filter(m => view.status === '' || m.status === view.status)
    .filter(m => labelMatches(m, view.label))
    .sort((a, b) => {
      const x = col.value(a)
      const y = col.value(b)
      // text by code unit, as the CLI sorts: peer ids are case-sensitive, and a locale order would put "Dk" before "DL"
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : (String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0)
      return view.desc ? -c : c
    })
  const status = h('select', { name: 'status', onchange: (e: Event) => { view.status = (e.target as HTMLSelectElement).value as MemberStatus | ''; rerender() } },
    ...STATUSES.map(s => h('option', { value: s, selected: s === view.status }, s === '' ? 'any status' : s)))
  const label = h('input', { name: 'label', placeholder: 'label: key or key=value', value: view.label })
  label.addEventListener('change', () => { view.label = label.value; rerender() })
  return h('section', { class: 'members' },
    h('h2', {}, 'Members ', h('span', { class: 'muted', 'data-test': 'shown' }, `${rows.length} of ${state.members.length}`)),
    h('div', { class: 'filters' }, status, label),
    h('table', { class: 'members-table' },
      h('thead', {}, h('tr', {}, ...COLUMNS.map(c => h('th', {
        class: c.key === view.sort ? (view.desc ? 'sorted desc' : 'sorted') : '',
        'data-sort': c.key,
        onclick: () => {
          if (view.sort === c.key) view.desc = !view.desc
          else { view.sort = c.key; view.desc = false }
          rerender()
        }
      }, c.title)))),
      h('tbody', {}, ...rows.map(m => h('tr', { 'data-peer': m.peerId, 'data-status': m.status }, ...COLUMNS.map(c => h('td', { 'data-col': c.key }, c.show(m))))))))
}
