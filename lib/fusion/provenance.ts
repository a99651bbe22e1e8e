import type { Logger } from '@libp2p/interface'
import { fusionTriples, recordFromRows, recordQuery, type FusionRecord } from './rdf.js'

/** What the log needs of the daemon's knowledge store. */
export interface ProvenanceStore {
  list: () => Array<{ name: string, quads: number, signed?: { record: { at: number } } }>
  add: (name: string, data: string, options: { format?: string, signal?: AbortSignal }) => Promise<unknown>
  update: (name: string, sparql: string, options: { signal?: AbortSignal }) => Promise<unknown>
  clear: (name: string, options: { signal?: AbortSignal }) => Promise<unknown>
  query: (sparql: string, options: { limit?: number, timeoutMs?: number, signal?: AbortSignal }) => Promise<{ kind: string, bindings?: Array<Record<string, { value: string }>> }>
}

export interface ProvenanceInit {
  /** write what was fused at least this often. @default 1000 */
  flushMs?: number
  /** fusions per log graph before the next one is started. @default 250 */
  segmentSize?: number
  /** log graphs kept: the oldest is emptied and reused. @default 64 */
  segments?: number
  log: Logger
}

export const LOG_GRAPH_PREFIX = 'fusion-log-'

/**
 * Every fusion's PROV-O record, written to this daemon's knowledge graphs
 * in batches: each write of a graph is a new signed version of the whole
 * graph (hashed, fsynced, replicated), so one write per fusion would cost
 * far more than the fusion. Records wait at most `flushMs` (and `explain`
 * finds them meanwhile); they go to log graphs `fusion-log-<k>` of at most
 * `segmentSize` fusions each, `segments` of them in a ring, so a write
 * costs in proportion to one segment and the log stays bounded: the oldest
 * segment is emptied and reused (docs/fusion.md, "Provenance"). Segments
 * are small because the store's write runs partly on the event loop (the
 * version's record is serialised there): 2,000-fusion segments blocked it
 * for tens of ms a flush, and at 100 callers the deadlines' cut-off timers
 * fired late enough for answers to miss their deadline.
 */
export class ProvenanceLog {
  private readonly store: ProvenanceStore
  private readonly flushMs: number
  private readonly segmentSize: number
  private readonly segments: number
  private readonly log: Logger
  private pending: FusionRecord[] = []
  private readonly waiting = new Map<string, FusionRecord>()
  private timer?: ReturnType<typeof setTimeout>
  private flushing?: Promise<void>
  private segment = -1
  private inSegment = 0
  written = 0
  failed = 0

  constructor (store: ProvenanceStore, init: ProvenanceInit) {
    this.store = store
    this.flushMs = init.flushMs ?? 1000
    this.segmentSize = init.segmentSize ?? 250
    this.segments = init.segments ?? 64
    this.log = init.log
  }

  record (r: FusionRecord): void {
    this.pending.push(r)
    this.waiting.set(r.id, r)
    if (this.flushing == null) this.schedule()
  }

  /** A flush in `flushMs`, unless one is due already. */
  private schedule (): void {
    if (this.timer != null) return
    this.timer = setTimeout(() => { void this.flush() }, this.flushMs)
    this.timer.unref?.()
  }

  /** Write what is waiting; resolves once it is durable (or its write failed, which is logged and counted). */
  async flush (): Promise<void> {
    if (this.timer != null) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    while (this.flushing != null) await this.flushing
    if (this.pending.length === 0) return
    this.flushing = this.write().finally(() => { this.flushing = undefined })
    await this.flushing
    if (this.pending.length > 0) this.schedule()
  }

  private async write (): Promise<void> {
    if (this.segment < 0) this.pickSegment()
    // what is waiting now, and nothing that arrives meanwhile: that waits for the next flush. A loop
    // that took new arrivals too wrote a few records at a time while fusions kept coming, each write
    // a new version of the whole segment: at 500 fusions/s a segment was rewritten 15-26 times and
    // recording took 1.6 ms of CPU per fusion instead of 0.3
    const todo = this.pending
    this.pending = []
    while (todo.length > 0) {
      if (this.inSegment >= this.segmentSize) {
        this.segment = (this.segment + 1) % this.segments
        this.inSegment = 0
        const name = `${LOG_GRAPH_PREFIX}${this.segment}`
        if (this.store.list().some(g => g.name === name)) await this.store.clear(name, {}).catch((err: Error) => { this.log.error('emptying %s for reuse failed: %s', name, err.message) })
      }
      const batch = todo.splice(0, this.segmentSize - this.inSegment)
      try {
        await this.store.add(`${LOG_GRAPH_PREFIX}${this.segment}`, batch.map(fusionTriples).join(''), { format: 'ntriples' })
        this.inSegment += batch.length
        this.written += batch.length
      } catch (err: any) {
        this.failed += batch.length
        this.log.error('recording %d fusions failed: %s', batch.length, err.message)
      }
      for (const r of batch) this.waiting.delete(r.id)
    }
  }

  /** Resume after the newest log graph this store has (a restart keeps appending there). */
  private pickSegment (): void {
    let newest = -1
    let at = -1
    for (const g of this.store.list()) {
      if (!g.name.startsWith(LOG_GRAPH_PREFIX)) continue
      const k = Number(g.name.slice(LOG_GRAPH_PREFIX.length))
      if (!Number.isInteger(k) || k < 0 || k >= this.segments) continue
      const t = g.signed?.record.at ?? 0
      if (t > at) { at = t; newest = k }
    }
    this.segment = Math.max(0, newest)
    // what the resumed segment held before is not counted: it takes up to a segment more
    this.inSegment = 0
  }

  /** A fusion's record: waiting to be written, or read back from the log graphs. */
  async explain (id: string, options: { signal?: AbortSignal } = {}): Promise<FusionRecord | undefined> {
    const waiting = this.waiting.get(id)
    if (waiting != null) return waiting
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined
    const res = await this.store.query(recordQuery(id), { limit: 1000, ...(options.signal != null ? { signal: options.signal } : {}) })
    return recordFromRows(id, res.bindings ?? [])
  }

  async stop (): Promise<void> {
    await this.flush()
  }
}
