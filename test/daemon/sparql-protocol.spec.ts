import { expect } from 'chai'
import { prefers } from '../../daemon/sparql-protocol.js'

describe('SPARQL protocol content negotiation', () => {
  const offered = ['application/sparql-results+json', 'text/csv', 'text/tab-separated-values']
  it('takes the highest q the endpoint offers, in the order the client wrote ties, with wildcards', () => {
    expect(prefers('', offered)).to.equal(undefined)
    expect(prefers('text/csv', offered)).to.equal('text/csv')
    expect(prefers('text/csv;q=0.5, text/tab-separated-values', offered)).to.equal('text/tab-separated-values')
    expect(prefers('application/sparql-results+xml, text/*;q=0.2', offered)).to.equal('text/csv')
    expect(prefers('*/*', offered)).to.equal('application/sparql-results+json')
    expect(prefers('text/csv;q=0, image/png', offered)).to.equal(undefined)
    expect(prefers('TEXT/CSV', offered)).to.equal('text/csv')
  })
})
