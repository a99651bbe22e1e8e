import type { MemberStatus } from '../../../lib/interface/api.js'
import { duration, h, shortId } from '../dom.js'
import type { State } from '../store.js'

const STATUSES: MemberStatus[] = ['alive', 'suspect', 'failed', 'left']

/** This daemon, the mesh's size and health, and the latest member events. */
export function overview (state: State): HTMLElement {
  const counts = Object.fromEntries(STATUSES.map(s => [s, state.members.filter(m => m.status === s).length]))
  const s = state.status
  return h('section', { class: 'overview' },
    h('h2', {}, 'Overview'),
    h('div', { class: 'cards' },
      h('div', { class: 'card' },
        h('h3', {}, 'This daemon'),
        h('dl', {},
          h('dt', {}, 'peer id'), h('dd', { class: 'mono', title: s?.peerId ?? '' }, s?.peerId ?? '…'),
          h('dt', {}, 'version'), h('dd', {}, s?.version ?? '…'),
          h('dt', {}, 'profile'), h('dd', {}, s?.profile ?? '…'),
          h('dt', {}, 'up'), h('dd', {}, s != null ? duration(s.uptimeSec * 1000) : '…'),
          h('dt', {}, 'connections'), h('dd', {}, s?.peers ?? '…'),
          h('dt', {}, 'local health'), h('dd', { title: 'Lifeguard\'s score: failure-detector timeouts here are multiplied by 1 + this (at most 8, further on the local profile)' }, state.stats?.localHealth ?? '…'))),
      h('div', { class: 'card' },
        h('h3', {}, 'Mesh'),
        h('p', { class: 'big', 'data-test': 'mesh-size' }, state.members.length, h('span', {}, ' members')),
        h('ul', { class: 'counts' }, ...STATUSES.map(st => h('li', { class: `status-${st}`, 'data-status': st }, `${counts[st] ?? 0} ${st}`))))),
    h('h3', {}, 'Recent events'),
    state.events.length === 0
      ? h('p', { class: 'muted' }, 'none yet')
      : h('table', { class: 'events' },
        h('thead', {}, h('tr', {}, h('th', {}, 'time'), h('th', {}, 'member'), h('th', {}, 'event'), h('th', {}, 'incarnation'), h('th', {}, 'why'))),
        h('tbody', {}, ...state.events.map(e => h('tr', {},
          h('td', {}, new Date(e.time).toLocaleTimeString()),
          h('td', { class: 'mono', title: e.peerId }, shortId(e.peerId)),
          h('td', { class: `status-${e.status}` }, e.type),
          h('td', {}, e.incarnation),
          h('td', {}, e.reason != null ? `${e.reason}${e.by != null ? ` (by ${shortId(e.by)})` : ''}` : '')))))
  )
}
