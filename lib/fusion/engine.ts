import { serviceCapabilities, serviceDependencies, type ComponentLogger, type Logger, type PeerId, type Startable } from '@libp2p/interface'
import { createHash, randomUUID } from 'node:crypto'
import { DeadlineExceededError, InvalidRequestError, NoProcessorError, OverloadedError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../interface/errors.js'
import { fitModel, type ValidationItem } from './fit.js'
import { HedgeBudget } from './hedge-budget.js'
import { LatencyTracker } from './latency-tracker.js'
import { calibrated, defaultWeight, fuseCalibrated, ruleFor, UNCALIBRATED, type FusionModel } from './model.js'
import { ProvenanceLog, type ProvenanceStore } from './provenance.js'
import type { FusionRecord } from './rdf.js'
import { lit } from '../knowledge/mesh-graph.js'
import { argmax, type RuleName } from './rules.js'
import { scatter, type Caller, type ProcessorOutcome, type ScatterCall } from './scatter.js'
import { TaskDirectory, type DirectoryKnowledge } from './task-directory.js'
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_INPUT_BYTES, MAX_DEADLINE_MS, MIN_DEADLINE_MS, parseProcessor, parseTask, type FusionTask, type ProcessorDescriptor } from './task.js'

/** One modality of an input. */
export interface FuseInput {
  modality: string
  mediaType: string
  data: Uint8Array
}

export interface FuseOptions {
  /** ms from now; the answer comes by then. @default the task's, else DEFAULT_DEADLINE_MS */
  deadlineMs?: number
  /** a fusion rule, or `auto` (the task's choice). @default the task's rule, else auto */
  rule?: string
  /** a session: earlier answers under this id, and the graph's context for it, inform this one */
  context?: string
  /** use the context source (when the task defines one and `context` is given). @default true */
  useContext?: boolean
  /** hedge processors slower than their p95. @default true */
  hedge?: boolean
  /** add each processor's whole calibrated vector (and the context prior's) to the answer */
  detail?: boolean
  signal?: AbortSignal
}

export interface ProcessorAnswerView {
  processor: string
  modality: string
  service: string
  status: ProcessorOutcome['status']
  hedged: boolean
  answeredBy?: 'primary' | 'hedge'
  instance?: string
  /** the module the service runs (a placed module service); an external instance has none */
  module?: string
  latencyMs?: number
  error?: string
  /** its own top label and that label's probability (after calibration) */
  label?: string
  confidence?: number
  /** its calibrated probabilities in the task's label order (with `detail`) */
  probs?: number[]
}

export interface ContextView {
  id: string
  /** the labels fused earlier under this id */
  previous: string
  /** ok: the graph gave a prior; empty: it gave no rows for these labels; timeout; error; off: not used */
  status: 'ok' | 'empty' | 'timeout' | 'error' | 'off'
  error?: string
  /** the prior over the task's labels (with `detail`) */
  probs?: number[]
}

export interface FuseAnswer {
  /** the fusion's id: `noodled fuse explain <id>`, and `urn:noodle:fusion:<id>` in the graph */
  id: string
  task: string
  /** null when nothing answered (every processor failed or timed out, and no context) */
  label: string | null
  confidence: number
  scores: Record<string, number>
  /** some processor of a modality in the input did not answer, or a modality of the task was absent */
  partial: boolean
  rule: RuleName
  deadlineMs: number
  elapsedMs: number
  processors: ProcessorAnswerView[]
  context?: ContextView
}

export interface CalibrationItem {
  label: string
  inputs: FuseInput[]
  /** for a task with context: the session's earlier labels, joined by the task's separator */
  previous?: string
  context?: string
}

export interface CalibrationReport {
  task: string
  items: number
  /** each source's accuracy alone on the set (after calibration) */
  sources: Record<string, { answered: number, accuracy: number }>
  model: FusionModel
}

export interface FusionStats {
  fusions: number
  partial: number
  /**
   * fusions ready only after their deadline (a daemon too busy to run the cut-off in time): they
   * failed with DeadlineExceededError, and were not recorded; no answer is ever given late
   */
  deadlineMissed: number
  /** fusions refused with OverloadedError: the daemon's lag would have made them late */
  shed: number
  /** what the cut-off is moved earlier by now: how late gathering has been ending (event-loop lag) */
  lagMs: number
  hedges: number
  hedgeWins: number
  /** hedges due but not sent: the budget (a tenth of the calls) was spent */
  hedgesDenied: number
  recorded: number
  recordFailures: number
  sessions: number
  latency: Record<string, { samples: number, p95Ms: number | undefined }>
}

export interface FusionComponents {
  peerId: PeerId
  logger: ComponentLogger
  rpc: Caller
  /** the knowledge service: mesh queries, and this daemon's store for its own graphs (required; optional only as libp2p types it) */
  knowledge?: {
    store: ProvenanceStore
    query: (sparql: string, options: { scope?: 'local' | 'mesh', timeoutMs?: number, signal?: AbortSignal }) => Promise<any>
  }
  /** the module a service runs, when it is a placed module service */
  registry?: {
    status: (name: string) => { spec: { module?: string } }
    /** the service's instances as the registry has them cached (no waiting) */
    resolveCached?: (name: string) => { instances: Array<{ healthy: boolean }> } | undefined
  }
}

export interface FusionInit {
  /** provenance batching (provenance.ts) */
  provenance?: { flushMs?: number, segmentSize?: number, segments?: number }
  /** how long the directory's snapshot of tasks serves. @default DIRECTORY_TTL_MS */
  directoryTtlMs?: number
}

/** Of the deadline, what is kept back for fusing and recording after the last processor's answer (or the cut-off). */
export const FUSE_MARGIN_MS = 3
/** The lag estimate halves in this long without a new observation. */
const LAG_HALF_LIFE_MS = 250
/** Sessions remembered (least recently used dropped first), and for how long. */
const MAX_SESSIONS = 10_000
const SESSION_TTL_MS = 30 * 60_000
/** A context prior is mixed with this much of the uniform: a wrong context must not veto a label. */
const CONTEXT_SMOOTHING = 0.02
/** Calibration runs this many items at once, each under this deadline, without hedging. */
const CALIBRATION_CONCURRENCY = 8
const CALIBRATION_ITEM_DEADLINE_MS = 10_000

/** Substitute `$context` and `$previous` in a context query by string literals. */
export function contextQuery (template: string, context: string, previous: string): string {
  return template.replace(/\$(context|previous)\b/g, (_m, name: string) => lit(name === 'context' ? context : previous))
}

/**
 * The cross-modal fusion engine (docs/fusion.md): one call scatters each
 * modality of an input to its processors (mesh services anywhere) under one
 * deadline, hedges the slow ones, and at the deadline fuses what arrived,
 * with the context from the knowledge graph as one more source; every
 * answer is recorded as PROV-O in the graph.
 */
export class FusionEngine implements Startable {
  readonly directory: TaskDirectory
  private readonly components: FusionComponents
  private readonly provenance: ProvenanceLog
  private readonly latency = new LatencyTracker()
  private readonly hedgeBudget = new HedgeBudget()
  private readonly sessions = new Map<string, { labels: string[], at: number }>()
  private readonly log: Logger
  private readonly self: string
  private started = false
  private readonly counters = { fusions: 0, partial: 0, deadlineMissed: 0, shed: 0, hedges: 0, hedgeWins: 0 }
  /** how late past its cut-off a fusion's gathering ended, recently (a decaying maximum, ms) */
  private lag = 0
  /** the same lateness, smoothed (a moving average of 10 fusions): what shedding goes by, so one spike (a GC, a provenance write) sheds nothing */
  private lagMean = 0
  private lagAt = 0

  constructor (components: FusionComponents, init: FusionInit = {}) {
    this.components = components
    this.self = components.peerId.toString()
    this.log = components.logger.forComponent('noodled:fusion')
    const kg = components.knowledge
    if (kg == null) throw new Error('the fusion engine needs the knowledge service: its tasks and provenance live in the graphs')
    const directoryKnowledge: DirectoryKnowledge = {
      query: async (sparql, options) => await kg.query(sparql, options),
      update: async (name, sparql, options) => await kg.store.update(name, sparql, options)
    }
    this.directory = new TaskDirectory(directoryKnowledge, { log: this.log, ...(init.directoryTtlMs != null ? { ttlMs: init.directoryTtlMs } : {}) })
    this.provenance = new ProvenanceLog(kg.store, { ...init.provenance, log: this.log })
  }

  readonly [Symbol.toStringTag] = 'noodled/fusion'
  readonly [serviceCapabilities]: string[] = ['noodled:fusion']
  readonly [serviceDependencies]: string[] = ['noodled:rpc', 'noodled:knowledge']

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.provenance.stop()
  }

  stats (): FusionStats {
    return { ...this.counters, hedgesDenied: this.hedgeBudget.denied, lagMs: Math.round(this.currentLag() * 100) / 100, recorded: this.provenance.written, recordFailures: this.provenance.failed, sessions: this.sessions.size, latency: this.latency.snapshot() }
  }

  async defineTask (input: unknown, options: { signal?: AbortSignal } = {}): Promise<{ task: FusionTask, updatedAt: string }> {
    const task = parseTask(input)
    // a redefinition keeps the calibration unless it brings its own, and only while the labels are the same
    if (task.model == null) {
      const had = await this.directory.get(task.name, options).catch(() => undefined)
      if (had?.task.model != null && JSON.stringify(had.task.labels) === JSON.stringify(task.labels)) task.model = had.task.model
    }
    return await this.directory.define(task, options)
  }

  async registerProcessor (input: unknown, options: { signal?: AbortSignal } = {}): Promise<{ processor: ProcessorDescriptor, updatedAt: string }> {
    const p = parseProcessor(input)
    const { task } = await this.directory.get(p.task, options)
    if (!task.modalities.includes(p.modality)) throw new InvalidRequestError(`task "${task.name}" has no modality "${p.modality}" (it has ${task.modalities.join(', ')})`)
    return await this.directory.register(p, options)
  }

  async deregisterProcessor (task: string, name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.directory.deregister(task, name, options)
  }

  async tasks (options: { signal?: AbortSignal } = {}): Promise<Array<{ task: FusionTask, processors: ProcessorDescriptor[] }>> {
    const s = await this.directory.snapshot({ ...options, fresh: true })
    return [...s.tasks.keys()].sort().map(name => ({ task: s.tasks.get(name)!.value, processors: [...(s.processors.get(name)?.values() ?? [])].map(f => f.value) }))
  }

  async explain (id: string, options: { signal?: AbortSignal } = {}): Promise<FusionRecord | undefined> {
    return await this.provenance.explain(id, options)
  }

  /** Write the provenance waiting to be written (tests, and before a query that must see every decision). */
  async flush (): Promise<void> {
    await this.provenance.flush()
  }

  /** The calls a fusion makes, after checking its inputs against the task. */
  private plan (task: FusionTask, processors: ProcessorDescriptor[], inputs: readonly FuseInput[], hedge: boolean): { calls: ScatterCall[], missing: ProcessorDescriptor[] } {
    if (inputs.length === 0) throw new InvalidRequestError('a fusion needs at least one input')
    const max = task.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES
    const seen = new Set<string>()
    const calls: ScatterCall[] = []
    for (const input of inputs) {
      if (seen.has(input.modality)) throw new InvalidRequestError(`modality "${input.modality}" is given twice`)
      seen.add(input.modality)
      if (!task.modalities.includes(input.modality)) throw new NoProcessorError(`task "${task.name}" has no modality "${input.modality}" (it has ${task.modalities.join(', ')})`)
      if (input.data.byteLength > max) throw new PayloadTooLargeError(`the ${input.modality} input is ${input.data.byteLength} bytes; task "${task.name}" takes at most ${max}`)
      const of = processors.filter(p => p.modality === input.modality)
      if (of.length === 0) throw new NoProcessorError(`no processor is registered for modality "${input.modality}" of task "${task.name}"`)
      const taking = of.filter(p => p.mediaTypes.includes(input.mediaType))
      if (taking.length === 0) throw new UnsupportedMediaTypeError(`no processor of "${input.modality}" takes ${input.mediaType} (they take ${[...new Set(of.flatMap(p => p.mediaTypes))].join(', ')})`)
      for (const p of taking) {
        // a hedge goes to another instance: with one, there is none to go to
        const after = hedge && this.instances(p.service) > 1 ? this.latency.hedgeDelay(p.name, p.latencyP95Ms) : undefined
        if (after != null) this.hedgeBudget.call()
        calls.push({ processor: p, payload: input.data, ...(after != null ? { hedgeAfterMs: Math.max(1, after) } : {}) })
      }
    }
    return { calls, missing: processors.filter(p => !seen.has(p.modality)) }
  }

  /**
   * `over`: how far past its cut-off a fusion's gathering ended (negative:
   * it ended early, everything answered). The estimate jumps to a new
   * maximum at once and halves every LAG_HALF_LIFE_MS, so a burst of
   * event-loop lag moves the next cut-offs earlier and a quiet spell gives
   * the time back (by time, not by fusion: while fusions are refused none
   * completes, and the estimate must still come down).
   */
  private noteLag (over: number): void {
    const decay = this.lagDecay()
    this.lag = Math.max(0, over, this.lag * decay)
    this.lagMean = this.lagMean * decay + 0.1 * (Math.max(0, over) - this.lagMean * decay)
    this.lagAt = performance.now()
  }

  private lagDecay (): number {
    return Math.pow(0.5, (performance.now() - this.lagAt) / LAG_HALF_LIFE_MS)
  }

  private currentLag (): number {
    return this.lag * this.lagDecay()
  }

  private session (id: string): string[] {
    const s = this.sessions.get(id)
    if (s == null || Date.now() - s.at > SESSION_TTL_MS) return []
    return s.labels
  }

  private remember (id: string, label: string): void {
    const s = this.sessions.get(id)
    const labels = s != null && Date.now() - s.at <= SESSION_TTL_MS ? s.labels : []
    this.sessions.delete(id)
    this.sessions.set(id, { labels: [...labels, label].slice(-256), at: Date.now() })
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!)
  }

  /** The task's context query for this session, as a prior over its labels, by `deadlineAt` or not at all. */
  private async contextPrior (task: FusionTask, index: ReadonlyMap<string, number>, id: string, previous: string, deadlineAt: number): Promise<{ probs?: Float64Array, view: ContextView }> {
    const view: ContextView = { id, previous, status: 'ok' }
    const spec = task.context!
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const query = this.components.knowledge!.query(contextQuery(spec.query, id, previous), { scope: spec.scope ?? 'local' })
      const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, Math.max(0, deadlineAt - performance.now())) })
      const res = await Promise.race([query, late])
      if (res === 'late') {
        query.catch(() => {})
        view.status = 'timeout'
        return { view }
      }
      const k = task.labels.length
      const prior = new Float64Array(k)
      let total = 0
      for (const row of res.bindings ?? []) {
        const i = index.get(row.label?.value)
        if (i == null) continue
        const w = row.weight != null ? Number(row.weight.value) : 1
        if (!Number.isFinite(w) || w <= 0) continue
        prior[i] = prior[i]! + w
        total += w
      }
      if (total === 0) {
        view.status = 'empty'
        return { view }
      }
      for (let c = 0; c < k; c++) prior[c] = (1 - CONTEXT_SMOOTHING) * prior[c]! / total + CONTEXT_SMOOTHING / k
      return { probs: prior, view }
    } catch (err: any) {
      view.status = 'error'
      view.error = `${String(err.name)}: ${String(err.message)}`
      return { view }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Healthy instances of `service` as the registry has them cached; unknown counts as many (the hedge then finds out). */
  private instances (service: string): number {
    const view = this.components.registry?.resolveCached?.(service)
    return view == null ? Infinity : view.instances.filter(i => i.healthy).length
  }

  private moduleOf (service: string): string | undefined {
    try {
      return this.components.registry?.status(service).spec.module
    } catch {
      return undefined
    }
  }

  /**
   * Fuse one input: every processor of each modality present is called at
   * once under the deadline (hedged after its p95), the context prior is
   * asked for meanwhile, and at the deadline (less FUSE_MARGIN_MS), or as
   * soon as all have answered, what arrived is calibrated and fused. The
   * answer is never later than the deadline: if the task cannot even be
   * looked up by then, the call fails with DeadlineExceededError.
   */
  async fuse (taskName: string, inputs: readonly FuseInput[], options: FuseOptions = {}): Promise<FuseAnswer> {
    const t0 = performance.now()
    const startedAt = new Date()
    options.signal?.throwIfAborted()
    if (options.deadlineMs != null && (!Number.isInteger(options.deadlineMs) || options.deadlineMs < MIN_DEADLINE_MS || options.deadlineMs > MAX_DEADLINE_MS)) throw new InvalidRequestError(`a deadline is ${MIN_DEADLINE_MS}-${MAX_DEADLINE_MS} ms (got ${String(options.deadlineMs)})`)
    if (options.context != null && (options.context === '' || options.context.length > 256)) throw new InvalidRequestError('a context id is 1-256 characters')
    const found = await this.lookup(taskName, t0 + (options.deadlineMs ?? MAX_DEADLINE_MS), options.signal)
    const { task, processors } = found
    const deadlineMs = options.deadlineMs ?? task.deadlineMs ?? DEFAULT_DEADLINE_MS
    // kept back: the fixed margin, and how late this daemon's cut-offs have been firing lately
    // (a busy event loop runs a timer late; the answer must still be in by the deadline)
    const lag = this.currentLag()
    // shed rather than answer late: when lateness has stood past half the deadline (its average, not one
    // spike), the margin would leave too little time to gather in (CoDel's idea, Nichols and Jacobson,
    // CACM 55(7), 2012: act on the standing delay, not on bursts)
    const standing = this.lagMean * this.lagDecay()
    if (standing > deadlineMs / 2) {
      this.counters.shed++
      throw new OverloadedError(`this daemon's fusions have been ending ${Math.round(standing)} ms past their cut-off; a ${deadlineMs} ms deadline cannot be kept now (try another daemon, a longer deadline, or later)`)
    }
    const deadlineAt = t0 + deadlineMs - FUSE_MARGIN_MS - Math.min(lag, deadlineMs / 2)
    const model = task.model ?? UNCALIBRATED
    const rule = ruleFor(model, options.rule ?? task.rule)
    const index = new Map(task.labels.map((l, i) => [l, i]))
    const { calls, missing } = this.plan(task, processors, inputs, options.hedge !== false)
    const useContext = task.context != null && options.context != null && options.useContext !== false
    const previous = options.context != null ? this.session(options.context).join(task.context?.separator ?? '') : ''
    const [outcomes, ctx] = await Promise.all([
      scatter(this.components.rpc, calls, { deadlineAt, labels: task.labels, index, mayHedge: () => this.hedgeBudget.take(), ...(options.signal != null ? { signal: options.signal } : {}) }),
      useContext ? this.contextPrior(task, index, options.context!, previous, deadlineAt) : Promise.resolve(undefined)
    ])
    options.signal?.throwIfAborted()
    // only what eats into the fixed margin counts: a cut-off a millisecond late still answers in time
    this.noteLag(performance.now() - deadlineAt - FUSE_MARGIN_MS / 2)
    const answers = new Map<string, Float64Array | undefined>()
    for (const o of outcomes) {
      answers.set(o.processor, o.probs)
      if (o.hedged) this.counters.hedges++
      if (o.answeredBy === 'hedge') this.counters.hedgeWins++
      if (o.status === 'ok' && o.latencyMs != null) this.latency.add(o.processor, o.latencyMs)
    }
    for (const p of missing) answers.set(p.name, undefined)
    const cal = calibrated(model, answers)
    if (task.context != null) cal.set('context', ctx?.probs)
    const weights: Record<string, number> | undefined = useContext ? undefined : { context: 0 }
    const present = [...cal.values()].some(p => p != null)
    const k = task.labels.length
    const fused = present ? fuseCalibrated(model, rule, k, cal, weights) : new Float64Array(k).fill(1 / k)
    const top = argmax(fused)
    const label = present ? task.labels[top]! : null
    const partial = missing.length > 0 || outcomes.some(o => o.status !== 'ok')
    const scores: Record<string, number> = {}
    task.labels.forEach((l, i) => { scores[l] = Math.round(fused[i]! * 1e6) / 1e6 })
    const views: ProcessorAnswerView[] = [
      ...outcomes.map(o => {
        const c = cal.get(o.processor)
        const module = this.moduleOf(o.service)
        const v: ProcessorAnswerView = { processor: o.processor, modality: o.modality, service: o.service, status: o.status, hedged: o.hedged }
        if (o.answeredBy != null) v.answeredBy = o.answeredBy
        if (o.instance != null) v.instance = o.instance
        if (module != null) v.module = module
        if (o.latencyMs != null) v.latencyMs = o.latencyMs
        if (o.error != null) v.error = o.error
        if (c != null) {
          const i = argmax(c)
          v.label = task.labels[i]!
          v.confidence = Math.round(c[i]! * 1e6) / 1e6
          if (options.detail === true) v.probs = Array.from(c)
        }
        return v
      }),
      ...missing.map(p => ({ processor: p.name, modality: p.modality, service: p.service, status: 'missing' as const, hedged: false }))
    ]
    const id = randomUUID()
    const elapsedMs = Math.round((performance.now() - t0) * 100) / 100
    const usedWeights = rule === 'stacker' ? {} : Object.fromEntries([...cal.keys()].map(s => [s, weights?.[s] ?? model.weights[rule as Exclude<RuleName, 'stacker'>]?.[s] ?? defaultWeight(rule as Exclude<RuleName, 'stacker'>)]))
    const answer: FuseAnswer = {
      id,
      task: task.name,
      label,
      confidence: present ? Math.round(fused[top]! * 1e6) / 1e6 : 1 / k,
      scores,
      partial,
      rule,
      deadlineMs,
      elapsedMs,
      processors: views
    }
    const contextView: ContextView | undefined = options.context != null ? (ctx?.view ?? { id: options.context, previous, status: 'off' }) : undefined
    if (contextView != null) answer.context = options.detail === true && ctx?.probs != null ? { ...contextView, probs: Array.from(ctx.probs) } : contextView
    const record: FusionRecord = {
      id,
      task: task.name,
      by: this.self,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      deadlineMs,
      elapsedMs,
      rule,
      weights: usedWeights,
      label: label ?? '',
      confidence: answer.confidence,
      partial,
      scores,
      inputs: inputs.map(i => ({ modality: i.modality, mediaType: i.mediaType, sha256: createHash('sha256').update(i.data).digest('hex'), bytes: i.data.byteLength })),
      processors: views.map(v => ({ processor: v.processor, modality: v.modality, service: v.service, status: v.status, hedged: v.hedged, ...(v.instance != null ? { instance: v.instance } : {}), ...(v.module != null ? { module: v.module } : {}), ...(v.latencyMs != null ? { latencyMs: v.latencyMs } : {}), ...(v.error != null ? { error: v.error } : {}) })),
      ...(contextView != null ? { context: { id: contextView.id, previous: contextView.previous, status: contextView.status, used: useContext && ctx?.probs != null } } : {})
    }
    // the last look at the clock: past the deadline, the caller has stopped waiting (a gRPC deadline's
    // meaning), so a late answer is an error that says so, never an answer; the lag margin above is
    // what keeps this rare
    const overBy = performance.now() - t0 - deadlineMs
    if (overBy > 0) {
      this.counters.deadlineMissed++
      throw new DeadlineExceededError(`the fusion was ready ${overBy.toFixed(1)} ms after its ${deadlineMs} ms deadline (this daemon is busy); it is not answered`)
    }
    this.counters.fusions++
    if (partial) this.counters.partial++
    if (options.context != null && label != null) this.remember(options.context, label)
    this.provenance.record(record)
    return answer
  }

  private async lookup (taskName: string, by: number, signal?: AbortSignal): Promise<{ task: FusionTask, processors: ProcessorDescriptor[] }> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new DeadlineExceededError(`fusion task "${taskName}" could not be looked up within the deadline`)) }, Math.max(0, by - FUSE_MARGIN_MS - performance.now()))
    })
    try {
      return await Promise.race([this.directory.get(taskName, signal != null ? { signal } : {}), late])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Fit the task's calibration, rule weights and stacker on a labelled
   * validation set (fit.ts): each item is sent to the processors (no
   * hedging, a generous deadline), and what they answered is the data. The
   * model is stored with the task, so every daemon fuses with it.
   */
  async calibrate (taskName: string, items: readonly CalibrationItem[], options: { signal?: AbortSignal } = {}): Promise<CalibrationReport> {
    const { task, processors } = await this.directory.get(taskName, options)
    if (items.length < 20) throw new InvalidRequestError(`calibration needs at least 20 labelled items (got ${items.length})`)
    const index = new Map(task.labels.map((l, i) => [l, i]))
    for (const it of items) if (!index.has(it.label)) throw new InvalidRequestError(`item label "${it.label}" is not a label of task "${task.name}"`)
    const data: ValidationItem[] = new Array(items.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        options.signal?.throwIfAborted()
        const i = next++
        const it = items[i]!
        const { calls, missing } = this.plan(task, processors, it.inputs, false)
        const deadlineAt = performance.now() + CALIBRATION_ITEM_DEADLINE_MS
        const outcomes = await scatter(this.components.rpc, calls, { deadlineAt, labels: task.labels, index, ...(options.signal != null ? { signal: options.signal } : {}) })
        const sources = new Map<string, Float64Array | undefined>()
        for (const o of outcomes) sources.set(o.processor, o.probs)
        for (const p of missing) sources.set(p.name, undefined)
        if (task.context != null) {
          const ctx = it.context != null ? await this.contextPrior(task, index, it.context, it.previous ?? '', deadlineAt) : undefined
          sources.set('context', ctx?.probs)
        }
        data[i] = { label: index.get(it.label)!, sources }
      }
    }
    await Promise.all(Array.from({ length: Math.min(CALIBRATION_CONCURRENCY, items.length) }, worker))
    const names = [...processors.map(p => p.name), ...(task.context != null ? ['context'] : [])]
    const model = fitModel(names, task.labels.length, data)
    const report: CalibrationReport['sources'] = {}
    for (const name of names) {
      let answered = 0
      let right = 0
      for (const d of data) {
        const p = d.sources.get(name)
        if (p == null) continue
        answered++
        if (argmax(p) === d.label) right++
      }
      report[name] = { answered, accuracy: answered > 0 ? right / answered : 0 }
    }
    await this.directory.define({ ...task, model }, options)
    return { task: task.name, items: items.length, sources: report, model }
  }
}

export function fusion (init: FusionInit = {}): (components: FusionComponents) => FusionEngine {
  return (components) => new FusionEngine(components, init)
}
