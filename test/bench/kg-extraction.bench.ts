import { faker } from '@faker-js/faker'
import { countries } from 'countries-list'
import { entityIri, extract, type EntityType } from '../../lib/knowledge/extract.js'

const SENTENCES = 300
const SEED = 20261207

interface Labelled { text: string, entities: Array<{ type: EntityType, name: string }> }

/**
 * A labelled set: sentences from templates, filled from faker's person
 * names and countries-list's countries and capitals (real places), with
 * organisations, years, amounts and topics (faker's nouns) made by the
 * templates; each sentence's
 * entities are known because the template put them there. Seeded: every
 * run scores the same sentences.
 */
export function labelledSet (n = SENTENCES): Labelled[] {
  faker.seed(SEED)
  const places = Object.values(countries).flatMap(c => [c.name, ...(c.capital !== '' ? [c.capital] : [])]).filter(p => /^[A-Z][A-Za-z .'-]+$/.test(p))
  const person = (): string => `${faker.person.firstName()} ${faker.person.lastName()}`
  const place = (): string => faker.helpers.arrayElement(places)
  const org = (): string => faker.helpers.arrayElement([
    `${faker.person.lastName()} Industries`, `University of ${place()}`, `${faker.person.lastName()} Bank`, `${faker.person.lastName()} Corporation`
  ])
  const year = (): string => String(faker.number.int({ min: 1850, max: 2025 }))
  const month = (): string => faker.helpers.arrayElement(['January', 'March', 'May', 'July', 'September', 'November'])
  const templates: Array<() => Labelled> = [
    () => { const p = person(); const c = place(); return { text: `${p} was born in ${c}.`, entities: [{ type: 'Person', name: p }, { type: 'Place', name: c }] } },
    () => { const p = person(); const o = org(); return { text: `${p} works for ${o}.`, entities: [{ type: 'Person', name: p }, { type: 'Organization', name: o }] } },
    () => { const p = person(); const q = person(); const c = place(); return { text: `${p} met ${q} in ${c}.`, entities: [{ type: 'Person', name: p }, { type: 'Person', name: q }, { type: 'Place', name: c }] } },
    () => { const o = org(); const c = place(); const y = year(); return { text: `In ${y}, ${o} opened an office in ${c}.`, entities: [{ type: 'Date', name: y }, { type: 'Organization', name: o }, { type: 'Place', name: c }] } },
    () => { const p = person(); const m = month(); const y = year(); return { text: `${p} moved on ${m} 3, ${y}.`, entities: [{ type: 'Person', name: p }, { type: 'Date', name: `${m} 3, ${y}` }] } },
    () => { const p = person(); const q = person(); const n = String(faker.number.int({ min: 2, max: 900 })); return { text: `${p} paid ${n} dollars to ${q}.`, entities: [{ type: 'Person', name: p }, { type: 'Number', name: n }, { type: 'Person', name: q }] } },
    () => { const p = person(); const t = faker.hacker.noun(); return { text: `${p} wrote a paper about ${t}.`, entities: [{ type: 'Person', name: p }, { type: 'Topic', name: t }] } }
  ]
  return Array.from({ length: n }, () => faker.helpers.arrayElement(templates)())
}

type Score = { tp: number, fp: number, fn: number }
const ratio = (a: number, b: number): number => b === 0 ? 0 : Math.round(a / b * 1000) / 1000

/**
 * Entity-extraction precision and recall of the built-in analyzer on the
 * labelled set: a found entity counts when its type and normalised name
 * (the identity rule, so its IRI) are among the sentence's labels.
 * Reported, not gated.
 */
export function extractionBench (): Record<string, unknown> {
  const set = labelledSet()
  const byType = new Map<EntityType, Score>()
  const score = (t: EntityType): Score => { let s = byType.get(t); if (s == null) { s = { tp: 0, fp: 0, fn: 0 }; byType.set(t, s) } return s }
  extract('Warm up the analyzer.')
  const t0 = performance.now()
  for (const item of set) {
    const want = new Set(item.entities.map(e => entityIri(e.type, e.name)))
    const got = extract(item.text).entities
    const gotIris = new Set(got.map(e => e.iri))
    for (const e of got) score(e.type)[want.has(e.iri) ? 'tp' : 'fp']++
    for (const e of item.entities) if (!gotIris.has(entityIri(e.type, e.name))) score(e.type).fn++
  }
  const ms = performance.now() - t0
  const all = [...byType.values()].reduce((a, s) => ({ tp: a.tp + s.tp, fp: a.fp + s.fp, fn: a.fn + s.fn }), { tp: 0, fp: 0, fn: 0 })
  return {
    analyzer: 'compromise (built-in)',
    sentences: set.length,
    labels: 'templates filled from @faker-js/faker person names and countries-list countries and capitals, seeded',
    precision: ratio(all.tp, all.tp + all.fp),
    recall: ratio(all.tp, all.tp + all.fn),
    byType: Object.fromEntries([...byType].map(([t, s]) => [t, { precision: ratio(s.tp, s.tp + s.fp), recall: ratio(s.tp, s.tp + s.fn), ...s }])),
    msPerSentence: Math.round(ms / set.length * 100) / 100
  }
}
