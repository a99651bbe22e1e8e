import { expect } from 'chai'
import { ringNeighbours } from '../../lib/membership/ring.js'

const ids = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']

describe('monitoring ring', () => {
  it('gives the k members after self as successors and the k before as predecessors, wrapping around', () => {
    expect(ringNeighbours('p2', ids, 2)).to.deep.equal({ successors: ['p3', 'p4'], predecessors: ['p1', 'p6'] })
    expect(ringNeighbours('p6', ids, 3)).to.deep.equal({ successors: ['p1', 'p2', 'p3'], predecessors: ['p5', 'p4', 'p3'] })
  })

  it('does not depend on the order members are listed in, nor on self being listed', () => {
    const shuffled = ['p5', 'p1', 'p6', 'p3', 'p2', 'p4']
    expect(ringNeighbours('p4', shuffled, 2)).to.deep.equal(ringNeighbours('p4', ids.filter(i => i !== 'p4'), 2))
  })

  it('gives every member exactly k monitors', () => {
    const many = Array.from({ length: 37 }, (_, i) => `12D3KooW${(i * 7919).toString(36)}`)
    const monitors = new Map<string, number>()
    for (const self of many) {
      for (const s of ringNeighbours(self, many, 3).successors) monitors.set(s, (monitors.get(s) ?? 0) + 1)
    }
    expect([...monitors.values()].every(n => n === 3)).to.equal(true)
    expect(monitors.size).to.equal(many.length)
  })

  it('takes everyone when the mesh is smaller than k + 1, and nobody when alone', () => {
    expect(ringNeighbours('p1', ['p2', 'p3'], 3).successors).to.deep.equal(['p2', 'p3'])
    expect(ringNeighbours('p1', [], 3)).to.deep.equal({ successors: [], predecessors: [] })
  })
})
