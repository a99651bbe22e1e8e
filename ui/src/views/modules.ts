import type { ModuleListView, ServiceStatusView } from '../../../lib/interface/api.js'
import { api } from '../api.js'
import { h, shortId } from '../dom.js'
import { Loader } from '../loader.js'
import type { State } from '../store.js'

const loader = new Loader(async () => {
  const [modules, services] = await Promise.all([api<ModuleListView[]>('/modules'), api<ServiceStatusView[]>('/services')])
  return { modules, services }
}, 5000)

/** Modules the mesh's catalog knows: versions, CIDs, publishers, whether this daemon holds them, and the services (and their owners) that run them. */
export function modules (state: State, rerender: () => void): HTMLElement {
  loader.refresh(state.updatedAt, rerender)
  const list = [...(loader.value?.modules ?? [])].sort((a, b) => a.name.localeCompare(b.name) || b.publishedAt.localeCompare(a.publishedAt))
  const runs = (m: ModuleListView): ServiceStatusView[] => (loader.value?.services ?? []).filter(s => s.spec.module != null && s.spec.module.replace(/@[^@]*$/, '') === m.name)
  return h('section', { class: 'modules' },
    h('h2', {}, 'Modules ', h('span', { class: 'muted' }, loader.value == null ? 'loading' : `${list.length} versions`)),
    loader.error != null ? h('p', { class: 'error' }, loader.error) : null,
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'module'), h('th', {}, 'version'), h('th', {}, 'CID'), h('th', {}, 'publisher'), h('th', {}, 'published'), h('th', {}, 'here'), h('th', {}, 'dependencies'), h('th', {}, 'services of this module (owners)'))),
      h('tbody', {}, ...list.map(m => h('tr', { 'data-module': `${m.name}@${m.version}` },
        h('td', {}, m.name),
        h('td', {}, m.version),
        h('td', { class: 'mono', title: m.cid }, `${m.cid.slice(0, 12)}…`),
        h('td', { class: 'mono', title: m.publisher }, m.publisher !== '' ? shortId(m.publisher) : ''),
        h('td', {}, m.publishedAt !== '' ? new Date(m.publishedAt).toLocaleString() : ''),
        h('td', {}, m.stored ? (m.pinned ? 'stored, pinned' : 'stored') : ''),
        h('td', {}, Object.entries(m.dependencies).map(([n, r]) => `${n}@${r}`).join(', ')),
        h('td', {}, ...runs(m).map(s => h('span', { class: 'tag', title: s.owners.join('\n') }, `${s.name} (${s.owners.map(shortId).join(', ')})`))))))))
}
