import { setToken, token } from './api.js'
import { h } from './dom.js'
import { Store } from './store.js'
import { fusion } from './views/fusion.js'
import { knowledge } from './views/knowledge.js'
import { members } from './views/members.js'
import { modules } from './views/modules.js'
import { overview } from './views/overview.js'
import { services } from './views/services.js'
import type { State } from './store.js'

/** The console's views, by hash route. */
const VIEWS: Record<string, { title: string, render: (state: State, rerender: () => void) => HTMLElement }> = {
  '': { title: 'Overview', render: overview },
  members: { title: 'Members', render: members },
  services: { title: 'Services', render: services },
  modules: { title: 'Modules', render: modules },
  knowledge: { title: 'Knowledge', render: knowledge },
  fusion: { title: 'Fusion', render: fusion }
}

const store = new Store()
const controller = new AbortController()

function route (): string {
  const r = location.hash.replace(/^#\/?/, '').split('/')[0] ?? ''
  return r in VIEWS ? r : ''
}

function render (): void {
  const current = route()
  const nav = document.getElementById('nav')!
  nav.replaceChildren(...Object.entries(VIEWS).map(([r, v]) => h('a', { href: `#/${r}`, class: r === current ? 'active' : '' }, v.title)),
    h('button', { type: 'button', class: 'token', title: 'writes need the repo\'s API token; reads do not', onclick: () => { setToken(prompt('API token (from the repo\'s api.token), empty to forget it')); render() } }, token() != null ? 'token set' : 'read-only'))
  const live = document.getElementById('live')!
  live.textContent = store.state.live ? 'live' : 'reconnecting'
  live.className = store.state.live ? 'live on' : 'live'
  const main = document.getElementById('view')!
  const view = VIEWS[current]!.render(store.state, render)
  // keep the focus and caret of a filter being typed in across a re-render
  const active = document.activeElement
  const focused = active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.name : undefined
  main.replaceChildren(...(store.state.error != null ? [h('p', { class: 'error' }, store.state.error)] : []), view)
  if (focused != null) (main.querySelector(`[name="${focused}"]`) as HTMLElement | null)?.focus()
  document.title = `${VIEWS[current]!.title} · noodled`
  performance.mark('noodled:render')
}

let scheduled = false
store.subscribe(() => {
  // several changes before the next frame render once (and a hidden tab renders none until shown)
  if (scheduled) return
  scheduled = true
  requestAnimationFrame(() => { scheduled = false; render() })
})
window.addEventListener('hashchange', render)
render()
store.start(controller.signal).catch((err: Error) => {
  store.state.error = `the daemon did not answer: ${err.message}`
  render()
})
