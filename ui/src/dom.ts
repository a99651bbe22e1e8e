/**
 * Elements built from data without HTML strings: every text goes in as a
 * text node, so nothing a member advertises (labels, service names) can
 * become markup in the console.
 */
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svg (tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  append(el, children)
  return el
}

function append (el: Element, children: Child[]): void {
  for (const c of children) {
    if (c == null || c === false) continue
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

/** The last characters of a peer id: enough to tell members apart at a glance (every Ed25519 id starts alike, "12D3KooW"). */
export function shortId (peerId: string): string {
  return peerId.length <= 12 ? peerId : `…${peerId.slice(-10)}`
}

export function bytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 120) return `${s.toFixed(1)} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${(s / 3600).toFixed(1)} h`
}
