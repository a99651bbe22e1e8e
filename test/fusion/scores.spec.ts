import { expect } from 'chai'
import { parseScores } from '../../lib/fusion/scores.js'
import { accuracy, mcnemar } from '../bench/fusion/significance.js'

const LABELS = ['cat', 'dog', 'owl']
const INDEX = new Map(LABELS.map((l, i) => [l, i]))
const parse = (body: unknown): Float64Array => parseScores(new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body)), LABELS, INDEX)

describe('the processor contract (scores a processor answers)', () => {
  it('takes scores by label, in label order, or a label with a confidence, normalised to sum to 1', () => {
    expect(Array.from(parse({ scores: { dog: 3, owl: 1 } }))).to.deep.equal([0, 0.75, 0.25])
    expect(Array.from(parse({ scores: [1, 1, 2] }))).to.deep.equal([0.25, 0.25, 0.5])
    expect(Array.from(parse({ label: 'owl', confidence: 0.8 })).map(x => Math.round(x * 1e9) / 1e9)).to.deep.equal([0.1, 0.1, 0.8])
  })

  it('refuses what it cannot read, naming why', () => {
    const refused = (body: unknown): string => { try { parse(body); return 'accepted' } catch (err: any) { return `${String(err.name)}: ${String(err.message)}` } }
    expect(refused('not json')).to.match(/MalformedMessageError: .*not JSON/)
    expect(refused([1, 2, 3])).to.match(/neither "scores" nor "label"/)
    expect(refused({ scores: [1, 2] })).to.match(/has 2 numbers for 3 labels/)
    expect(refused({ scores: { horse: 1 } })).to.match(/"horse", which is not a label/)
    expect(refused({ scores: [1, -1, 0] })).to.match(/score 1 is not a finite number >= 0/)
    expect(refused({ scores: [0, 0, 0] })).to.match(/all 0/)
    expect(refused({ label: 'owl', confidence: 2 })).to.match(/above 1/)
    expect(refused({ label: 'emu' })).to.match(/"emu", which is not a label/)
    // a processor's own named error comes through as that error
    expect(refused({ error: { name: 'InvalidImageError', message: 'not a PGM' } })).to.equal('InvalidImageError: not a PGM')
  })
})

describe('accuracy intervals and McNemar\'s test (the fusion benchmark\'s statistics)', () => {
  it('Wilson interval of 50 of 100: 0.5 in [0.4038, 0.5962]', () => {
    const a = accuracy([...Array(50).fill(true), ...Array(50).fill(false)])
    expect(a.accuracy).to.equal(0.5)
    expect(a.ci95[0]).to.be.closeTo(0.4038, 1e-4)
    expect(a.ci95[1]).to.be.closeTo(0.5962, 1e-4)
  })

  it('exact McNemar: 10 discordant for a, 2 for b gives p = 2 (1 + 12 + 66) / 4096', () => {
    const a = [...Array(10).fill(true), ...Array(2).fill(false), ...Array(30).fill(true)]
    const b = [...Array(10).fill(false), ...Array(2).fill(true), ...Array(30).fill(true)]
    const m = mcnemar(a, b)
    expect(m.onlyA).to.equal(10)
    expect(m.onlyB).to.equal(2)
    expect(m.p).to.be.closeTo(158 / 4096, 1e-12)
    expect(mcnemar(a, a).p).to.equal(1)
  })
})
