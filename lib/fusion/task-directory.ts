import type { Logger } from '@libp2p/interface'
import { raceSignal } from 'race-signal'
import { TaskNotFoundError } from '../interface/errors.js'
import { DESCRIPTOR, processorIri, processorTriples, taskGraph, taskIri, taskTriples } from './rdf.js'
import { parseProcessor, parseTask, type FusionTask, type ProcessorDescriptor } from './task.js'

/** What the directory needs of the knowledge graphs: mesh queries, and writes to this daemon's own graphs. */
export interface DirectoryKnowledge {
  query: (sparql: string, options: { scope: 'mesh', timeoutMs?: number, signal?: AbortSignal }) => Promise<{ kind: string, bindings?: Array<Record<string, { value: string }>> }>
  update: (name: string, sparql: string, options: { signal?: AbortSignal }) => Promise<unknown>
}

export interface Found<T> {
  value: T
  updatedAt: string
  /** the graph it was read from (its owner is the daemon that wrote it) */
  graph: string
}

export interface DirectorySnapshot {
  tasks: Map<string, Found<FusionTask>>
  /** per task, per processor name */
  processors: Map<string, Map<string, Found<ProcessorDescriptor>>>
  at: number
}

/** How long a snapshot of the tasks serves before it is refreshed (in the background: a fusion never waits for it). */
export const DIRECTORY_TTL_MS = 2_000
/** A refresh's deadline: a mesh query that fetches the fusion graphs it lacks. */
const REFRESH_TIMEOUT_MS = 5_000

/**
 * The fusion tasks and their processors, as the knowledge graphs of the
 * whole mesh hold them: each daemon writes the tasks it defined and the
 * processors registered through it to its own graph `fusion-<task>`, and
 * any daemon finds them all with one mesh query (on the descriptor
 * predicate only, so source selection fetches fusion graphs and nothing
 * else). Where two daemons hold the same task or processor, the later
 * `updatedAt` wins. A snapshot serves fusions for DIRECTORY_TTL_MS and is
 * then refreshed in the background; a write here refreshes it at once.
 */
export class TaskDirectory {
  private readonly kg: DirectoryKnowledge
  private readonly log: Logger
  private readonly ttlMs: number
  private snapshotValue?: DirectorySnapshot
  private refreshing?: Promise<DirectorySnapshot>

  constructor (kg: DirectoryKnowledge, init: { log: Logger, ttlMs?: number }) {
    this.kg = kg
    this.log = init.log
    this.ttlMs = init.ttlMs ?? DIRECTORY_TTL_MS
  }

  /** The newest snapshot: cached when fresh, refreshed in the background when stale, awaited only when there is none or `fresh` is asked. */
  async snapshot (options: { signal?: AbortSignal, fresh?: boolean } = {}): Promise<DirectorySnapshot> {
    const s = this.snapshotValue
    if (s != null && options.fresh !== true) {
      if (performance.now() - s.at > this.ttlMs) this.refresh().catch((err) => { this.log('refreshing fusion tasks failed: %s', err.message) })
      return s
    }
    return await this.refresh(options.signal)
  }

  private async refresh (signal?: AbortSignal): Promise<DirectorySnapshot> {
    if (this.refreshing == null) {
      this.refreshing = this.load().then((s) => { this.snapshotValue = s; return s }).finally(() => { this.refreshing = undefined })
    }
    return await raceSignal(this.refreshing, signal)
  }

  private async load (): Promise<DirectorySnapshot> {
    const res = await this.kg.query(`SELECT ?g ?d WHERE { GRAPH ?g { ?s <${DESCRIPTOR}> ?d } }`, { scope: 'mesh', timeoutMs: REFRESH_TIMEOUT_MS })
    const tasks = new Map<string, Found<FusionTask>>()
    const processors = new Map<string, Map<string, Found<ProcessorDescriptor>>>()
    for (const row of res.bindings ?? []) {
      const graph = row.g?.value ?? ''
      try {
        const d = JSON.parse(row.d?.value ?? '')
        const updatedAt = String(d.updatedAt)
        if (d.kind === 'task') {
          const task = parseTask(d.task)
          const had = tasks.get(task.name)
          if (had == null || had.updatedAt < updatedAt) tasks.set(task.name, { value: task, updatedAt, graph })
        } else if (d.kind === 'processor') {
          const p = parseProcessor(d.processor)
          const of = processors.get(p.task) ?? new Map<string, Found<ProcessorDescriptor>>()
          processors.set(p.task, of)
          const had = of.get(p.name)
          if (had == null || had.updatedAt < updatedAt) of.set(p.name, { value: p, updatedAt, graph })
        }
      } catch (err: any) {
        // someone's graph holds a descriptor this version cannot read: skip it, say so
        this.log('skipping a fusion descriptor in %s: %s', graph, err.message)
      }
    }
    return { tasks, processors, at: performance.now() }
  }

  /** A task and its processors; TaskNotFoundError when no graph of the mesh defines it. */
  async get (name: string, options: { signal?: AbortSignal } = {}): Promise<{ task: FusionTask, processors: ProcessorDescriptor[] }> {
    let s = await this.snapshot(options)
    // defined a moment ago on another daemon: look once more before saying no
    if (!s.tasks.has(name) && performance.now() - s.at > 250) s = await this.snapshot({ ...options, fresh: true })
    const task = s.tasks.get(name)
    if (task == null) throw new TaskNotFoundError(`no fusion task "${name}" in the mesh's knowledge graphs (define it with noodled fuse task add)`)
    return { task: task.value, processors: [...(s.processors.get(name)?.values() ?? [])].map(f => f.value).sort((a, b) => a.name.localeCompare(b.name)) }
  }

  /** Define (or redefine) a task in this daemon's graph `fusion-<task>`. */
  async define (task: FusionTask, options: { signal?: AbortSignal } = {}): Promise<{ task: FusionTask, updatedAt: string }> {
    const now = new Date()
    const s = taskIri(task.name)
    await this.kg.update(taskGraph(task.name), `DELETE WHERE { <${s}> ?p ?o } ; INSERT DATA { ${taskTriples(task, now)} }`, options)
    await this.snapshot({ ...options, fresh: true })
    return { task, updatedAt: now.toISOString() }
  }

  /** Register a processor for a task that exists, in this daemon's graph `fusion-<task>`. */
  async register (p: ProcessorDescriptor, options: { signal?: AbortSignal } = {}): Promise<{ processor: ProcessorDescriptor, updatedAt: string }> {
    const now = new Date()
    const s = processorIri(p.task, p.name)
    await this.kg.update(taskGraph(p.task), `DELETE WHERE { <${s}> ?p ?o } ; INSERT DATA { ${processorTriples(p, now)} }`, options)
    await this.snapshot({ ...options, fresh: true })
    return { processor: p, updatedAt: now.toISOString() }
  }

  /** Remove a processor this daemon registered (one registered through another daemon stays in that daemon's graph). */
  async deregister (task: string, name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.kg.update(taskGraph(task), `DELETE WHERE { <${processorIri(task, name)}> ?p ?o }`, options)
    await this.snapshot({ ...options, fresh: true })
  }
}
