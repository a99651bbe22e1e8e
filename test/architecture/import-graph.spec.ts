import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { cycles, importGraph } from '../utils/import-graph.js'

// specs run from dist/test/architecture/; the sources are three levels up
const root = fileURLToPath(new URL('../../../', import.meta.url))
const graph = importGraph(root, ['lib', 'daemon', 'cli'])

const why = (from: string, to: string): string => (graph.get(from)?.get(to) ?? []).slice(0, 3).join('; ')

describe('the import graph', () => {
  it('has no cycle between folders', () => {
    const found = cycles(graph)
    const detail = found.map(c => c.join(' <-> ') + ': ' + c.flatMap(a => c.filter(b => graph.get(a)?.has(b)).map(b => `${a} -> ${b} (${why(a, b)})`)).join(', '))
    expect(detail).to.deep.equal([])
  })

  it('keeps lib free of the daemon and the CLI', () => {
    const lib = [...graph.keys()].filter(f => f === 'lib' || f.startsWith('lib/'))
    const wrong = lib.flatMap(f => ['daemon', 'cli'].filter(to => graph.get(f)?.has(to)).map(to => `${f} -> ${to} (${why(f, to)})`))
    expect(wrong).to.deep.equal([])
  })

  it('keeps the shared helpers at the root of lib and lib/interface free of the subsystems', () => {
    const wrong = ['lib', 'lib/interface'].flatMap(f => [...(graph.get(f)?.keys() ?? [])]
      .filter(to => to.startsWith('lib/') && to !== 'lib/interface')
      .map(to => `${f} -> ${to} (${why(f, to)})`))
    expect(wrong).to.deep.equal([])
  })

  it('finds a cycle when there is one', () => {
    const g = new Map([['a', new Map([['b', ['']]])], ['b', new Map([['c', ['']]])], ['c', new Map([['a', ['']]])], ['d', new Map([['a', ['']]])]])
    expect(cycles(g)).to.deep.equal([['a', 'b', 'c']])
  })
})
