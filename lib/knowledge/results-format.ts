import type { QueryResult } from './graph-store.js'
import type { TermJson } from './store-protocol.js'

/** SELECT and ASK answers: what the SPARQL 1.1 result formats below take. */
export type TabularResult = Extract<QueryResult, { kind: 'bindings' | 'boolean' }>

/** The SPARQL 1.1 Query Results JSON Format (https://www.w3.org/TR/sparql11-results-json/). */
export function resultsJson (r: TabularResult): unknown {
  if (r.kind === 'boolean') return { head: {}, boolean: r.boolean }
  return { head: { vars: r.vars }, results: { bindings: r.bindings } }
}

/** SPARQL 1.1 CSV: plain values, quoted when needed (https://www.w3.org/TR/sparql11-results-csv-tsv/#csv). */
export function csv (r: TabularResult): string {
  if (r.kind === 'boolean') return `_askResult\r\n${String(r.boolean)}\r\n`
  const field = (t: TermJson | undefined): string => {
    if (t == null) return ''
    const v = t.type === 'bnode' ? `_:${t.value}` : t.value
    return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
  }
  return [r.vars.join(','), ...r.bindings.map(b => r.vars.map(v => field(b[v])).join(','))].join('\r\n') + '\r\n'
}

/** SPARQL 1.1 TSV: terms in their Turtle form (https://www.w3.org/TR/sparql11-results-csv-tsv/#tsv). */
export function tsv (r: TabularResult): string {
  if (r.kind === 'boolean') return `?_askResult\n${String(r.boolean)}\n`
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
  const term = (t: TermJson | undefined): string => {
    if (t == null) return ''
    if (t.type === 'uri') return `<${t.value}>`
    if (t.type === 'bnode') return `_:${t.value}`
    if (t['xml:lang'] != null) return `"${esc(t.value)}"@${t['xml:lang']}`
    if (t.datatype != null && t.datatype !== 'http://www.w3.org/2001/XMLSchema#string') return `"${esc(t.value)}"^^<${t.datatype}>`
    return `"${esc(t.value)}"`
  }
  return [r.vars.map(v => `?${v}`).join('\t'), ...r.bindings.map(b => r.vars.map(v => term(b[v])).join('\t'))].join('\n') + '\n'
}
