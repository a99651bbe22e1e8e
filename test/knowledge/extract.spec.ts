import { expect } from 'chai'
import { ANALYZER, entityIri, extract, extractionTriples, relationIri } from '../../lib/knowledge/extract.js'

describe('entity and relation extraction (compromise)', () => {
  it('finds people, places, organisations, dates and numbers in known sentences, and relations by their verbs', () => {
    const x = extract('Ada Lovelace worked with Charles Babbage in London in 1843. Microsoft hired 300 engineers in Seattle on March 3, 2021.')
    const named = (type: string): string[] => x.entities.filter(e => e.type === type).map(e => e.name).sort()
    expect(named('Person')).to.deep.equal(['Ada Lovelace', 'Charles Babbage'])
    expect(named('Place')).to.deep.equal(['London', 'Seattle'])
    expect(named('Organization')).to.deep.equal(['Microsoft'])
    expect(named('Number')).to.include('300')
    expect(named('Date').join(' ')).to.include('March')
    const ada = entityIri('Person', 'Ada Lovelace')
    expect(x.relations).to.deep.include({ subject: ada, predicate: 'work', object: entityIri('Person', 'Charles Babbage') })
    expect(x.relations).to.deep.include({ subject: entityIri('Organization', 'Microsoft'), predicate: 'hire', object: entityIri('Place', 'Seattle') })
  })

  it('makes one node of the same entity named in several items (type and normalised name), keeping each source', () => {
    expect(entityIri('Person', 'Ada  Lovelace')).to.equal(entityIri('Person', 'ada lovelace'))
    expect(entityIri('Place', 'Zürich')).to.equal(entityIri('Place', 'Zurich'))
    expect(entityIri('Person', 'Ada Lovelace')).to.not.equal(entityIri('Organization', 'Ada Lovelace'))
    const a = extractionTriples('Ada Lovelace lived in London.', { source: 'https://example.org/a' })
    const b = extractionTriples('Charles Babbage met Ada Lovelace.', { source: 'https://example.org/b' })
    const ada = `<${entityIri('Person', 'Ada Lovelace')}>`
    for (const [x, src] of [[a, 'https://example.org/a'], [b, 'https://example.org/b']] as const) {
      expect(x.ntriples).to.include(`${ada} <http://www.w3.org/ns/prov#wasDerivedFrom> <${src}> .`)
      expect(x.ntriples).to.include(`<${src}> <https://schema.org/mentions> ${ada} .`)
    }
  })

  it('records provenance: the item and its text, one activity that used it, run by the analyzer with its version, and when', () => {
    const { ntriples, item } = extractionTriples('Ada Lovelace worked with Charles Babbage.', { now: new Date('2026-12-07T12:00:00Z') })
    expect(item).to.match(/^urn:noodle:item:[0-9a-f]{64}$/)
    expect(ntriples).to.include(`<${item}> <https://schema.org/text> "Ada Lovelace worked with Charles Babbage." .`)
    expect(ntriples).to.match(/<urn:noodle:extraction:[0-9a-f-]+> <http:\/\/www.w3.org\/ns\/prov#used> </)
    expect(ntriples).to.include(`<urn:noodle:analyzer:compromise/${ANALYZER.version}>`)
    expect(ntriples).to.include('"2026-12-07T12:00:00.000Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>')
    expect(ntriples).to.include(`<${relationIri('work')}> <http://www.w3.org/2000/01/rdf-schema#label> "work" .`)
    // text with quotes and newlines stays one literal
    expect(extractionTriples('She said "hi"\nto Alan Turing.').ntriples).to.include('"She said \\"hi\\"\\nto Alan Turing."')
  })

  it('refuses a source that is not an absolute IRI, and a text over the limit', () => {
    expect(() => extractionTriples('x', { source: 'not an iri' })).to.throw('absolute IRI')
    expect(() => extractionTriples('x', { source: 'https://example.org/a b' })).to.throw('absolute IRI')
    expect(() => extract('a'.repeat(300 * 1024))).to.throw('at most')
  })
})
