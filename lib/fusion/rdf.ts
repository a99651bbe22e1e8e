import { NOODLE, lit, memberIri, serviceIri } from '../knowledge/mesh-graph.js'
import type { ProcessorDescriptor, FusionTask } from './task.js'

/**
 * Fusion tasks, processors and decisions as RDF: the mesh's vocabulary
 * (`urn:noodle:vocab:`) for what is its own, PROV-O for how each answer was
 * reached (docs/fusion.md, "Provenance").
 */
export const PROV = 'http://www.w3.org/ns/prov#'
const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#'
const XSD = 'http://www.w3.org/2001/XMLSchema#'
const RDFS_LABEL = 'http://www.w3.org/2000/01/rdf-schema#label'

/** The whole descriptor as canonical JSON: what the engine reads back (one predicate, so source selection fetches only fusion graphs). */
export const DESCRIPTOR = `${NOODLE}fusionDescriptor`


export const taskIri = (name: string): string => `urn:noodle:fusion:task:${name}`
export const processorIri = (task: string, name: string): string => `urn:noodle:fusion:task:${task}/processor/${name}`
export const fusionIri = (id: string): string => `urn:noodle:fusion:${id}`
export const inputIri = (sha256: string): string => `urn:noodle:input:sha256:${sha256}`
/** The graph each daemon keeps a task's definition and its own processors in. */
export const taskGraph = (task: string): string => `fusion-${task}`

const iri = (s: string): string => `<${s}>`
const json = (v: unknown): string => lit(JSON.stringify(v), `${RDF}JSON`)
const dateTime = (d: Date): string => lit(d.toISOString(), `${XSD}dateTime`)

class Triples {
  readonly lines: string[] = []
  add (s: string, p: string, o: string): void {
    this.lines.push(`${iri(s)} ${iri(p)} ${o} .`)
  }

  toString (): string {
    return this.lines.join('\n') + '\n'
  }
}

/** A task as triples: readable ones for people and SPARQL, and its descriptor. */
export function taskTriples (task: FusionTask, updatedAt: Date): string {
  const t = new Triples()
  const s = taskIri(task.name)
  t.add(s, `${RDF}type`, iri(`${NOODLE}FusionTask`))
  t.add(s, `${NOODLE}name`, lit(task.name))
  t.add(s, RDFS_LABEL, lit(task.description ?? task.name))
  for (const m of task.modalities) t.add(s, `${NOODLE}modality`, lit(m))
  for (const l of task.labels) t.add(s, `${NOODLE}label`, lit(l))
  t.add(s, `${NOODLE}rule`, lit(task.rule ?? 'auto'))
  if (task.model?.validation != null) t.add(s, `${NOODLE}calibratedAt`, lit(task.model.validation.at, `${XSD}dateTime`))
  t.add(s, `${NOODLE}updatedAt`, dateTime(updatedAt))
  t.add(s, DESCRIPTOR, json({ kind: 'task', updatedAt: updatedAt.toISOString(), task }))
  return t.toString()
}

export function processorTriples (p: ProcessorDescriptor, updatedAt: Date): string {
  const t = new Triples()
  const s = processorIri(p.task, p.name)
  t.add(s, `${RDF}type`, iri(`${NOODLE}ModalityProcessor`))
  t.add(s, `${NOODLE}task`, iri(taskIri(p.task)))
  t.add(s, `${NOODLE}name`, lit(p.name))
  t.add(s, `${NOODLE}modality`, lit(p.modality))
  t.add(s, `${NOODLE}service`, iri(serviceIri(p.service)))
  for (const m of p.mediaTypes) t.add(s, `${NOODLE}mediaType`, lit(m))
  t.add(s, `${NOODLE}calibrated`, lit(p.calibrated))
  if (p.accuracy != null) t.add(s, `${NOODLE}accuracy`, lit(p.accuracy))
  if (p.latencyP95Ms != null) t.add(s, `${NOODLE}latencyP95Ms`, lit(p.latencyP95Ms))
  t.add(s, `${NOODLE}updatedAt`, dateTime(updatedAt))
  t.add(s, DESCRIPTOR, json({ kind: 'processor', updatedAt: updatedAt.toISOString(), processor: p }))
  return t.toString()
}

/** One fusion as the engine records it. */
export interface FusionRecord {
  id: string
  task: string
  /** the daemon that fused */
  by: string
  /** ISO 8601 */
  startedAt: string
  endedAt: string
  deadlineMs: number
  elapsedMs: number
  rule: string
  weights: Record<string, number>
  label: string
  confidence: number
  partial: boolean
  scores: Record<string, number>
  inputs: Array<{ modality: string, mediaType: string, sha256: string, bytes: number }>
  processors: Array<{ processor: string, modality: string, service: string, status: string, hedged: boolean, instance?: string, module?: string, latencyMs?: number, error?: string }>
  context?: { id: string, previous: string, status: string, used: boolean, graphs?: string[] }
}

/**
 * A fusion in PROV-O: the fusion is a prov:Activity that used its inputs
 * (by hash) and generated its result (a prov:Entity with the label and
 * confidence), associated with the daemon; each processor call is an
 * activity it informed (prov:wasInformedBy from the fusion), associated with
 * the service and its instance, with its status and latency. The rule,
 * weights and scores are on the fusion; the context used, when there is one.
 *
 * Every triple here is written for every fusion (about 40, 6 KB), and the
 * write is most of what recording costs (docs/fusion.md, "Provenance"), so
 * nothing is said twice: no inverse (prov:wasGeneratedBy of the result), no
 * type PROV-O's domains and ranges already give (a prov:used object is a
 * prov:Entity, a prov:wasInformedBy object a prov:Activity), and no copy of
 * the record as JSON: `explain` reads the record back from these triples
 * (recordFromRows).
 */
export function fusionTriples (r: FusionRecord): string {
  const t = new Triples()
  const f = fusionIri(r.id)
  const result = `${f}/result`
  t.add(f, `${RDF}type`, iri(`${PROV}Activity`))
  t.add(f, `${RDF}type`, iri(`${NOODLE}Fusion`))
  t.add(f, `${NOODLE}task`, iri(taskIri(r.task)))
  t.add(f, `${PROV}wasAssociatedWith`, iri(memberIri(r.by)))
  t.add(f, `${PROV}startedAtTime`, lit(r.startedAt, `${XSD}dateTime`))
  t.add(f, `${PROV}endedAtTime`, lit(r.endedAt, `${XSD}dateTime`))
  t.add(f, `${NOODLE}deadlineMs`, lit(r.deadlineMs))
  t.add(f, `${NOODLE}elapsedMs`, lit(r.elapsedMs))
  t.add(f, `${NOODLE}rule`, lit(r.rule))
  t.add(f, `${NOODLE}weights`, json(r.weights))
  t.add(f, `${NOODLE}partial`, lit(r.partial))
  t.add(f, `${PROV}generated`, iri(result))
  t.add(result, `${NOODLE}label`, lit(r.label))
  t.add(result, `${NOODLE}confidence`, lit(r.confidence))
  t.add(result, `${NOODLE}scores`, json(r.scores))
  for (const input of r.inputs) {
    const i = inputIri(input.sha256)
    t.add(f, `${PROV}used`, iri(i))
    t.add(i, `${NOODLE}modality`, lit(input.modality))
    t.add(i, `${NOODLE}mediaType`, lit(input.mediaType))
    t.add(i, `${NOODLE}bytes`, lit(input.bytes))
  }
  for (const p of r.processors) {
    const c = callIri(r.id, p.processor)
    t.add(c, `${RDF}type`, iri(`${NOODLE}ProcessorCall`))
    t.add(f, `${PROV}wasInformedBy`, iri(c))
    t.add(c, `${NOODLE}processor`, iri(processorIri(r.task, p.processor)))
    t.add(c, `${NOODLE}modality`, lit(p.modality))
    t.add(c, `${PROV}wasAssociatedWith`, iri(serviceIri(p.service)))
    if (p.instance != null) t.add(c, `${NOODLE}instance`, iri(memberIri(p.instance)))
    if (p.module != null) t.add(c, `${NOODLE}module`, lit(p.module))
    t.add(c, `${NOODLE}status`, lit(p.status))
    t.add(c, `${NOODLE}hedged`, lit(p.hedged))
    if (p.latencyMs != null) t.add(c, `${NOODLE}latencyMs`, lit(p.latencyMs))
    if (p.error != null) t.add(c, `${NOODLE}error`, lit(p.error))
  }
  if (r.context != null) {
    const c = `${f}/context`
    t.add(f, `${NOODLE}context`, iri(c))
    t.add(c, `${NOODLE}contextId`, lit(r.context.id))
    t.add(c, `${NOODLE}previous`, lit(r.context.previous))
    t.add(c, `${NOODLE}status`, lit(r.context.status))
    t.add(c, `${NOODLE}used`, lit(r.context.used))
    for (const g of r.context.graphs ?? []) t.add(c, `${PROV}used`, iri(g))
  }
  return t.toString()
}

const callIri = (id: string, processor: string): string => `${fusionIri(id)}/call/${processor}`

/** The query whose rows recordFromRows reads: the fusion's own triples, and those of its result, inputs, calls and context. */
export function recordQuery (id: string): string {
  const f = `<${fusionIri(id)}>`
  const branch = (path: string): string => `{ ${f} ${path} ?s . ?s ?p ?o }`
  return `SELECT ?s ?p ?o WHERE { { VALUES ?s { ${f} } ?s ?p ?o } UNION ${branch(`<${PROV}generated>`)} UNION ${branch(`<${PROV}used>`)} UNION ${branch(`<${PROV}wasInformedBy>`)} UNION ${branch(`<${NOODLE}context>`)} }`
}

type Row = Record<string, { value: string } | undefined>

/** A fusion's record rebuilt from the rows of recordQuery; undefined when the graph has no such fusion. */
export function recordFromRows (id: string, rows: readonly Row[]): FusionRecord | undefined {
  const f = fusionIri(id)
  const by = new Map<string, Map<string, string[]>>()
  for (const row of rows) {
    const s = row.s?.value
    const p = row.p?.value
    const o = row.o?.value
    if (s == null || p == null || o == null) continue
    let props = by.get(s)
    if (props == null) by.set(s, props = new Map())
    const values = props.get(p)
    if (values == null) props.set(p, [o])
    else values.push(o)
  }
  const own = by.get(f)
  if (own == null || !(own.get(`${RDF}type`) ?? []).includes(`${NOODLE}Fusion`)) return undefined
  const one = (s: string | undefined, p: string): string | undefined => s == null ? undefined : by.get(s)?.get(p)?.[0]
  const num = (s: string | undefined, p: string): number | undefined => { const v = one(s, p); return v == null ? undefined : Number(v) }
  const strip = (value: string | undefined, prefix: string): string => value?.startsWith(prefix) === true ? decodeURIComponent(value.slice(prefix.length)) : (value ?? '')
  const parse = <T>(value: string | undefined, fallback: T): T => { try { return value == null ? fallback : JSON.parse(value) as T } catch { return fallback } }
  // the store keeps a dateTime in its canonical form (no ".000"): back to what toISOString gave
  const time = (value: string | undefined): string => { const d = new Date(value ?? ''); return Number.isNaN(d.getTime()) ? (value ?? '') : d.toISOString() }
  const result = one(f, `${PROV}generated`)
  const record: FusionRecord = {
    id,
    task: strip(one(f, `${NOODLE}task`), taskIri('')),
    by: strip(one(f, `${PROV}wasAssociatedWith`), memberIri('')),
    startedAt: time(one(f, `${PROV}startedAtTime`)),
    endedAt: time(one(f, `${PROV}endedAtTime`)),
    deadlineMs: num(f, `${NOODLE}deadlineMs`) ?? 0,
    elapsedMs: num(f, `${NOODLE}elapsedMs`) ?? 0,
    rule: one(f, `${NOODLE}rule`) ?? '',
    weights: parse(one(f, `${NOODLE}weights`), {}),
    label: one(result, `${NOODLE}label`) ?? '',
    confidence: num(result, `${NOODLE}confidence`) ?? 0,
    partial: one(f, `${NOODLE}partial`) === 'true',
    scores: parse(one(result, `${NOODLE}scores`), {}),
    inputs: (own.get(`${PROV}used`) ?? []).map(i => ({
      modality: one(i, `${NOODLE}modality`) ?? '',
      mediaType: one(i, `${NOODLE}mediaType`) ?? '',
      sha256: strip(i, inputIri('')),
      bytes: num(i, `${NOODLE}bytes`) ?? 0
    })).sort((a, b) => a.modality.localeCompare(b.modality)),
    processors: (own.get(`${PROV}wasInformedBy`) ?? []).map(c => {
      const instance = one(c, `${NOODLE}instance`)
      const module = one(c, `${NOODLE}module`)
      const latencyMs = num(c, `${NOODLE}latencyMs`)
      const error = one(c, `${NOODLE}error`)
      return {
        processor: strip(c, callIri(id, '')),
        modality: one(c, `${NOODLE}modality`) ?? '',
        service: strip(one(c, `${PROV}wasAssociatedWith`), serviceIri('')),
        status: one(c, `${NOODLE}status`) ?? '',
        hedged: one(c, `${NOODLE}hedged`) === 'true',
        ...(instance != null ? { instance: strip(instance, memberIri('')) } : {}),
        ...(module != null ? { module } : {}),
        ...(latencyMs != null ? { latencyMs } : {}),
        ...(error != null ? { error } : {})
      }
    }).sort((a, b) => a.modality.localeCompare(b.modality) || a.processor.localeCompare(b.processor))
  }
  const ctx = one(f, `${NOODLE}context`)
  if (ctx != null) {
    const graphs = by.get(ctx)?.get(`${PROV}used`)
    record.context = {
      id: one(ctx, `${NOODLE}contextId`) ?? '',
      previous: one(ctx, `${NOODLE}previous`) ?? '',
      status: one(ctx, `${NOODLE}status`) ?? '',
      used: one(ctx, `${NOODLE}used`) === 'true',
      ...(graphs != null ? { graphs } : {})
    }
  }
  return record
}
