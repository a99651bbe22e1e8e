import { expect } from 'chai'
import { backoffDelay } from '../../lib/node/backoff.js'

describe('bootstrap backoff', () => {
  it('doubles from the minimum and stops at the maximum', () => {
    const mid = (): number => 0.5 // no jitter
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(a => backoffDelay(a, { minMs: 1000, maxMs: 60_000, random: mid })))
      .to.deep.equal([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000])
  })

  it('spreads delays by the jitter fraction', () => {
    expect(backoffDelay(3, { minMs: 1000, jitter: 0.2, random: () => 0 })).to.equal(3200)
    expect(backoffDelay(3, { minMs: 1000, jitter: 0.2, random: () => 1 })).to.equal(4800)
  })
})
