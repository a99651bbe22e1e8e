import { createHash, randomUUID } from 'node:crypto'
import nlp from 'compromise'
import { InvalidRequestError } from '../interface/errors.js'

/** The built-in analyzer: compromise (rule-based English NLP, offline), at the version installed. */
export const ANALYZER = {
  name: 'compromise',
  version: String((nlp as unknown as { version: string }).version)
}

export const ENTITY_TYPES = ['Person', 'Place', 'Organization', 'Date', 'Number', 'Topic'] as const
export type EntityType = typeof ENTITY_TYPES[number]

/** Who found what: recorded as the extraction's PROV-O software agent. */
export interface AnalyzerInfo {
  name: string
  version: string
}

export interface ExtractedEntity {
  iri: string
  type: EntityType
  name: string
}

export interface ExtractedRelation {
  subject: string
  /** the verb's infinitive ("work"), or "location" for "<someone> in <place>" with no verb */
  predicate: string
  object: string
}

export interface Extraction {
  entities: ExtractedEntity[]
  relations: ExtractedRelation[]
}

/** Texts larger than this are refused (an analyzer pass is synchronous). */
export const MAX_TEXT_CHARS = 256 * 1024

const TYPE_IRI: Record<EntityType, string> = {
  Person: 'https://schema.org/Person',
  Place: 'https://schema.org/Place',
  Organization: 'https://schema.org/Organization',
  Date: 'urn:noodle:type:Date',
  Number: 'urn:noodle:type:Number',
  Topic: 'urn:noodle:type:Topic'
}

/**
 * The identity rule: an entity is its type and its name, normalised
 * (Unicode NFKD, diacritics dropped, lower case, runs of anything but letters
 * and digits as one "-"). "Ada Lovelace" in two items is one node, named in
 * both; "Babbage" and "Charles Babbage" are two (no coreference).
 */
export function entityIri (type: EntityType, name: string): string {
  const slug = name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '')
  return `urn:noodle:entity:${type.toLowerCase()}/${encodeURIComponent(slug)}`
}

/** What an analyzer service found (analyzer-service.ts), with the IRIs the identity rule gives. */
export function extractionFrom (found: { entities: Array<{ type: EntityType, name: string }>, relations: Array<{ subject: { type: EntityType, name: string }, predicate: string, object: { type: EntityType, name: string } }> }): Extraction {
  const entities = new Map<string, ExtractedEntity>()
  const add = (e: { type: EntityType, name: string }): string => {
    const iri = entityIri(e.type, e.name)
    if (!entities.has(iri)) entities.set(iri, { iri, type: e.type, name: e.name })
    return iri
  }
  for (const e of found.entities) add(e)
  const relations = new Map<string, ExtractedRelation>()
  for (const r of found.relations) {
    const rel = { subject: add(r.subject), predicate: r.predicate.toLowerCase(), object: add(r.object) }
    relations.set(`${rel.subject} ${rel.predicate} ${rel.object}`, rel)
  }
  return { entities: [...entities.values()], relations: [...relations.values()] }
}

/** A mention's text without the sentence's punctuation around it. */
const clean = (s: string): string => s.replace(/^[\s"'(\[]+|[\s.,;:!?"')\]]+$/g, '')

interface Mention { type: EntityType, name: string, start: number, end: number }

/**
 * People, places, organisations, dates, numbers and topics in `text`, and relations
 * between them sentence by sentence: within a sentence, its first person or
 * organisation is related to each later entity by the verb before that
 * entity ("Ada worked with Charles" -> work), or, with no verb between, a
 * person or organisation "in"/"at" a place by `location`.
 */
export function extract (text: string): Extraction {
  if (text.length > MAX_TEXT_CHARS) throw new InvalidRequestError(`a text is at most ${MAX_TEXT_CHARS} characters (got ${text.length})`)
  const entities = new Map<string, ExtractedEntity>()
  const relations = new Map<string, ExtractedRelation>()
  for (const sentence of nlp(text).sentences().json({ offset: true }) as Array<{ text: string }>) {
    const doc = nlp(sentence.text)
    const mentions: Mention[] = []
    // in the order of the calls below: a span taken by an earlier type is not taken again (the
    // year of "May 3, 1962" is part of a date, not a number of its own)
    const add = (type: EntityType, found: Array<{ text: string, offset: { start: number, length: number } }>): void => {
      for (const m of found) {
        const name = clean(m.text)
        const start = m.offset.start
        const end = start + m.offset.length
        if (name === '' || mentions.some(x => start < x.end && x.start < end)) continue
        mentions.push({ type, name, start, end })
      }
    }
    add('Person', doc.people().json({ offset: true }))
    add('Organization', doc.organizations().json({ offset: true }))
    add('Place', doc.places().json({ offset: true }))
    add('Date', doc.match('#Date+').json({ offset: true }))
    add('Number', (doc as unknown as { numbers: () => { json: (o: unknown) => Array<{ text: string, offset: { start: number, length: number } }> } }).numbers().json({ offset: true }))
    // topics: what a text is about or on ("a paper about compilers", "worked on the analytical
    // engine"), a noun phrase no earlier type took
    add('Topic', doc.match('(about|on|regarding) (the|a|an)? [#Adjective* #Noun+]', 0).json({ offset: true }))
    mentions.sort((a, b) => a.start - b.start)
    for (const m of mentions) {
      const iri = entityIri(m.type, m.name)
      if (!entities.has(iri)) entities.set(iri, { iri, type: m.type, name: m.name })
    }
    const subject = mentions.find(m => m.type === 'Person' || m.type === 'Organization')
    if (subject == null) continue
    const verbs = doc.verbs().json({ offset: true }) as Array<{ offset: { start: number }, verb?: { infinitive?: string } }>
    for (const m of mentions) {
      if (m.start <= subject.start) continue
      const between = verbs.filter(v => v.offset.start > subject.start && v.offset.start < m.start)
      const verb = between.at(-1)?.verb?.infinitive
      const gap = sentence.text.slice(subject.start, m.start).toLowerCase()
      const predicate = verb != null && verb !== '' ? verb.toLowerCase() : m.type === 'Place' && /\b(in|at)\b/.test(gap) ? 'location' : undefined
      if (predicate == null) continue
      const rel = { subject: entityIri(subject.type, subject.name), predicate, object: entityIri(m.type, m.name) }
      relations.set(`${rel.subject} ${rel.predicate} ${rel.object}`, rel)
    }
  }
  return { entities: [...entities.values()], relations: [...relations.values()] }
}

const PROV = 'http://www.w3.org/ns/prov#'
const SCHEMA = 'https://schema.org/'
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type'
const RDFS_LABEL = 'http://www.w3.org/2000/01/rdf-schema#label'
const XSD_DATETIME = 'http://www.w3.org/2001/XMLSchema#dateTime'

const iriTerm = (iri: string): string => `<${iri}>`
const literal = (s: string, datatype?: string): string =>
  `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"${datatype != null ? `^^<${datatype}>` : ''}`

/** The IRI of a relation's predicate. */
export const relationIri = (predicate: string): string => `urn:noodle:relation:${encodeURIComponent(predicate)}`

/**
 * What extraction found in one item, as N-Triples with its provenance
 * (PROV-O): the item (`source`, else `urn:noodle:item:<sha256 of the text>`)
 * with its text and what it mentions; each entity typed and named, derived
 * from the item and generated by one extraction activity that used the item,
 * was run by the analyzer (name and version) and ended at `now`; each
 * relation as a triple between entities.
 */
export function extractionTriples (text: string, options: { source?: string, now?: Date, extraction?: Extraction, analyzer?: AnalyzerInfo } = {}): { ntriples: string, extraction: Extraction, item: string } {
  if (options.source != null) {
    let ok = false
    try { ok = new URL(options.source).protocol !== '' && !/[\s<>"{}|\\^`]/.test(options.source) } catch {}
    if (!ok) throw new InvalidRequestError(`--source must be an absolute IRI (got "${options.source}")`)
  }
  if (text.length > MAX_TEXT_CHARS) throw new InvalidRequestError(`a text is at most ${MAX_TEXT_CHARS} characters (got ${text.length})`)
  // what another analyzer (a mesh service, analyzer-service.ts) found, or the built-in one's
  const extraction = options.extraction ?? extract(text)
  const by = options.analyzer ?? ANALYZER
  const item = options.source ?? `urn:noodle:item:${createHash('sha256').update(text).digest('hex')}`
  const activity = `urn:noodle:extraction:${randomUUID()}`
  const analyzer = `urn:noodle:analyzer:${encodeURIComponent(by.name)}/${encodeURIComponent(by.version)}`
  const lines: string[] = []
  const t = (s: string, p: string, o: string): void => { lines.push(`${iriTerm(s)} ${iriTerm(p)} ${o} .`) }
  t(item, RDF_TYPE, iriTerm(`${PROV}Entity`))
  t(item, `${SCHEMA}text`, literal(text))
  t(activity, RDF_TYPE, iriTerm(`${PROV}Activity`))
  t(activity, `${PROV}used`, iriTerm(item))
  t(activity, `${PROV}wasAssociatedWith`, iriTerm(analyzer))
  t(activity, `${PROV}endedAtTime`, literal((options.now ?? new Date()).toISOString(), XSD_DATETIME))
  t(analyzer, RDF_TYPE, iriTerm(`${PROV}SoftwareAgent`))
  t(analyzer, RDFS_LABEL, literal(`${by.name} ${by.version}`))
  for (const e of extraction.entities) {
    t(e.iri, RDF_TYPE, iriTerm(TYPE_IRI[e.type]))
    t(e.iri, `${SCHEMA}name`, literal(e.name))
    t(e.iri, `${PROV}wasDerivedFrom`, iriTerm(item))
    t(e.iri, `${PROV}wasGeneratedBy`, iriTerm(activity))
    t(item, `${SCHEMA}mentions`, iriTerm(e.iri))
  }
  for (const r of extraction.relations) {
    t(r.subject, relationIri(r.predicate), iriTerm(r.object))
    t(relationIri(r.predicate), RDFS_LABEL, literal(r.predicate))
  }
  return { ntriples: lines.join('\n') + '\n', extraction, item }
}
