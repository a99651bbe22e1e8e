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

/** A fusion's whole record as JSON, for `fuse explain` to read back as it was (not DESCRIPTOR: task lookups must not fetch the logs). */
export const RECORD = `${NOODLE}fusionRecord`

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
  t.add(result, `${RDF}type`, iri(`${PROV}Entity`))
  t.add(result, `${PROV}wasGeneratedBy`, iri(f))
  t.add(result, `${NOODLE}label`, lit(r.label))
  t.add(result, `${NOODLE}confidence`, lit(r.confidence))
  t.add(result, `${NOODLE}scores`, json(r.scores))
  for (const input of r.inputs) {
    const i = inputIri(input.sha256)
    t.add(f, `${PROV}used`, iri(i))
    t.add(i, `${RDF}type`, iri(`${PROV}Entity`))
    t.add(i, `${NOODLE}modality`, lit(input.modality))
    t.add(i, `${NOODLE}mediaType`, lit(input.mediaType))
    t.add(i, `${NOODLE}bytes`, lit(input.bytes))
  }
  for (const p of r.processors) {
    const c = `${f}/call/${p.processor}`
    t.add(c, `${RDF}type`, iri(`${PROV}Activity`))
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
  // the whole record, for `fuse explain` to read back as it was
  t.add(f, RECORD, json(r))
  return t.toString()
}
