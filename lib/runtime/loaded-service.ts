import type { RuntimeServiceView } from '../interface/api.js'
import type { Replica } from '../registry/reconciler.js'
import { HISTORY } from './constants.js'
import type { Grant } from './grants.js'
import type { ModulePool } from './pool.js'

/** What a pool is made from: kept while it runs, so an update can be rolled back to it. */
export interface PoolSource {
  module: string
  cid: string
  wasm: Uint8Array
  dependencies: Array<{ name: string, wasm: Uint8Array }>
  exports: string[]
  grant: Grant
  slots: number
}

/** A module service this node owns, in whatever state its load is. */
export interface LoadedService {
  /** the spec's module, capabilities and slots this entry was loaded for */
  key: string
  replica: Replica
  view: RuntimeServiceView
  pool?: ModulePool
  source?: PoolSource
  controller: AbortController
  /** loads that failed in a row (nothing was running), and the timer of the next try */
  failures: number
  retry?: ReturnType<typeof setTimeout>
}

export type HistoryRecord = RuntimeServiceView['history'][number]

/** Make `pool` the one calls go to, and say so in the view and its history. */
export function switchTo (entry: LoadedService, pool: ModulePool, source: PoolSource): void {
  const now = new Date().toISOString()
  const history = entry.view.history.map(h => h.outcome === 'running' ? { ...h, outcome: 'replaced' as const } : h)
  entry.pool = pool
  entry.source = source
  const { error: _error, probationUntil: _until, ...rest } = entry.view
  entry.view = { ...rest, state: 'running', module: source.module, cid: source.cid, grant: source.grant, slots: source.slots, history: [...history, { module: source.module, cid: source.cid, at: now, outcome: 'running' as const }].slice(-HISTORY) }
}

/** A service's history with `record` appended; a version failing again takes the place of its last failure rather than filling it. */
export function remember (entry: LoadedService, record: HistoryRecord): RuntimeServiceView['history'] {
  const last = entry.view.history.at(-1)
  const earlier = last?.outcome === record.outcome && last.module === record.module && record.outcome !== 'running' ? entry.view.history.slice(0, -1) : entry.view.history
  return [...earlier, record].slice(-HISTORY)
}

/** The view without its probation mark. */
export function endProbation (entry: LoadedService): void {
  const { probationUntil: _until, ...rest } = entry.view
  entry.view = rest
}
