import type { PlacementExplanationView, ServiceStatusView } from '../../../lib/interface/api.js'
import { api } from '../api.js'
import { h, shortId } from '../dom.js'
import { Loader } from '../loader.js'
import type { State } from '../store.js'

/** The service opened (its placement is read with the list). */
let open: string | undefined

/** The list is read on opening the view and when members change (placement follows membership), at most every 2 s. */
const loader = new Loader(async () => {
  const services = await api<ServiceStatusView[]>('/services')
  const placement = open != null ? await api<PlacementExplanationView>(`/placement/${encodeURIComponent(open)}`) : undefined
  return { services, placement }
}, 2000)

/** Services: spec, owners, instances and their health; a service opened shows placement's explanation. */
export function services (state: State, rerender: () => void): HTMLElement {
  loader.refresh(state.updatedAt, rerender)
  const status = new Map(state.members.map(m => [m.peerId, m.status]))
  const list = loader.value?.services ?? []
  const opened = list.find(s => s.name === open)
  return h('section', { class: 'services' },
    h('h2', {}, 'Services ', h('span', { class: 'muted' }, loader.value == null ? 'loading' : `${list.length}`)),
    loader.error != null ? h('p', { class: 'error' }, loader.error) : null,
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'service'), h('th', {}, 'replicas'), h('th', {}, 'module'), h('th', {}, 'owners'), h('th', {}, 'instances healthy'), h('th', {}, 'requirements'))),
      h('tbody', {}, ...list.map(s => h('tr', {
        'data-service': s.name,
        'data-owners': s.owners.length,
        class: s.name === open ? 'open clickable' : 'clickable',
        onclick: () => { open = open === s.name ? undefined : s.name; void loader.load(rerender) }
      },
      h('td', {}, s.name),
      h('td', {}, s.replicas),
      h('td', { class: 'mono' }, s.spec.module ?? ''),
      h('td', {}, ...s.owners.map(o => h('span', { class: `tag status-${status.get(o) ?? 'left'}`, title: o }, shortId(o)))),
      h('td', {}, `${s.instances.filter(i => i.healthy).length} / ${s.instances.length}`),
      h('td', {}, requirements(s)))))),
    opened != null ? detail(opened, loader.value?.placement?.service === opened.name ? loader.value.placement : undefined) : null)
}

function requirements (s: ServiceStatusView): string {
  const r = s.spec.requirements
  const parts = [r.cpu > 0 ? `${r.cpu} cpu` : '', r.memoryMb > 0 ? `${r.memoryMb} MB` : '', r.slots > 0 ? `${r.slots} slots` : '', ...Object.entries(r.labels).map(([k, v]) => `${k}=${v}`), s.spec.spread != null ? `spread by ${s.spec.spread}` : '']
  return parts.filter(p => p !== '').join(', ')
}

function detail (s: ServiceStatusView, placement: PlacementExplanationView | undefined): HTMLElement {
  return h('div', { class: 'detail', 'data-test': 'service-detail' },
    h('h3', {}, s.name),
    h('h4', {}, 'Instances'),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'member'), h('th', {}, 'kind'), h('th', {}, 'healthy'), h('th', {}, 'member status'), h('th', {}, 'announced'))),
      h('tbody', {}, ...s.instances.map(i => h('tr', { 'data-instance': i.peerId },
        h('td', { class: 'mono', title: i.peerId }, shortId(i.peerId)), h('td', {}, i.kind), h('td', {}, i.healthy ? 'yes' : 'no'),
        h('td', { class: `status-${i.memberStatus}` }, i.memberStatus), h('td', {}, i.announced ? 'yes' : 'not yet'))))),
    h('h4', {}, 'Placement ', h('span', { class: 'muted' }, placement != null ? `(load cap ${placement.cap} per member)` : 'loading')),
    placement == null
      ? null
      : h('table', { 'data-test': 'placement' },
        h('thead', {}, h('tr', {}, h('th', {}, 'rank'), h('th', {}, 'member'), h('th', {}, 'load'), h('th', {}, 'chosen'), h('th', {}, 'why'))),
        h('tbody', {}, ...placement.members.map(m => h('tr', { class: m.chosen ? 'chosen' : '' },
          h('td', {}, m.rank), h('td', { class: 'mono', title: m.peerId }, shortId(m.peerId)), h('td', {}, m.load), h('td', {}, m.chosen ? 'owner' : ''), h('td', {}, m.reason))))))
}
