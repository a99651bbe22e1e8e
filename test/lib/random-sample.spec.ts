import { expect } from 'chai'
import { randomSample } from '../../lib/random-sample.js'

describe('randomSample', () => {
  it('gives up to max distinct items, all of them when there are fewer, none for max 0', () => {
    const items = ['a', 'b', 'c', 'd', 'e']
    const two = randomSample(items, 2)
    expect(two).to.have.length(2)
    expect(new Set(two).size).to.equal(2)
    expect(items).to.include.members(two)
    expect(randomSample(items, 9)).to.have.members(items)
    expect(randomSample(items, 0)).to.deep.equal([])
    expect(randomSample([], 3)).to.deep.equal([])
    // the input is left as it was
    expect(items).to.deep.equal(['a', 'b', 'c', 'd', 'e'])
  })

  it('is not the first items every time: over many draws of 1, every item is picked', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 500 && seen.size < 10; i++) seen.add(randomSample(Array.from({ length: 10 }, (_, k) => k), 1)[0]!)
    expect(seen.size).to.equal(10)
  })
})
