import { expect } from 'chai'
import { bordaRule, combine, dempsterShaferRule, majorityRule, maxRule, productRule, sumRule } from '../../lib/fusion/rules.js'

const P1 = [0.6, 0.3, 0.1]
const P2 = [0.2, 0.5, 0.3]
const P3 = [0.1, 0.7, 0.2]

function close (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).to.equal(want.length)
  Array.from(want).forEach((w, i) => { expect(got[i], `score ${i} of [${Array.from(got).join(', ')}]`).to.be.closeTo(w, tol) })
}

// Every expected vector below is worked out by hand in its comment.
describe('fusion rules', () => {
  it('sum: (P1 + P2) / 2, and weighted (3 P1 + P2) / 4', () => {
    close(sumRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }]), [0.4, 0.4, 0.2])
    close(sumRule(3, [{ probs: P1, weight: 3 }, { probs: P2, weight: 1 }]), [0.5, 0.35, 0.15])
  })

  it('sum: a source of weight 0 is left out, and one source alone is itself', () => {
    close(sumRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 0 }]), P1)
  })

  it('product: P1 * P2 = [0.12, 0.15, 0.03], normalised by 0.30', () => {
    close(productRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }]), [0.4, 0.5, 0.1])
  })

  it('product: weight 2 squares a source: [0.36 * 0.2, 0.09 * 0.5, 0.01 * 0.3] / 0.12', () => {
    close(productRule(3, [{ probs: P1, weight: 2 }, { probs: P2, weight: 1 }]), [0.6, 0.375, 0.025])
  })

  it('product: a zero is floored, not a veto', () => {
    const p = productRule(2, [{ probs: [1, 0], weight: 1 }, { probs: [0, 1], weight: 1 }])
    close(p, [0.5, 0.5])
  })

  it('max: [0.6, 0.5, 0.3] normalised by 1.4', () => {
    close(maxRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }]), [0.6 / 1.4, 0.5 / 1.4, 0.3 / 1.4])
  })

  it('majority: P1 votes 0, P2 and P3 vote 1: shares 1/3 and 2/3', () => {
    close(majorityRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }, { probs: P3, weight: 1 }]), [1 / 3, 2 / 3, 0], 1e-8)
  })

  it('majority: weight 3 on P1 outvotes the other two', () => {
    close(majorityRule(3, [{ probs: P1, weight: 3 }, { probs: P2, weight: 1 }, { probs: P3, weight: 1 }]), [0.6, 0.4, 0], 1e-8)
  })

  it('majority: a tied vote goes to the larger summed probability', () => {
    // votes 0 and 1 tie; summed probabilities [0.7, 0.9, 0.4] favour 1
    const p = majorityRule(3, [{ probs: [0.5, 0.4, 0.1], weight: 1 }, { probs: [0.2, 0.5, 0.3], weight: 1 }])
    expect(p[1]).to.be.greaterThan(p[0]!)
  })

  it('borda: points P1 [2, 1, 0] + P2 [0, 2, 1] = [2, 3, 1] of 6', () => {
    close(bordaRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }]), [2 / 6, 3 / 6, 1 / 6])
  })

  it('borda: tied scores share their points', () => {
    // [0.4, 0.4, 0.2]: labels 0 and 1 share 2 + 1 points, label 2 gets 0
    close(bordaRule(3, [{ probs: [0.4, 0.4, 0.2], weight: 1 }]), [0.5, 0.5, 0])
  })

  it('ds: reliability 0.5 each, worked through Dempster\'s rule', () => {
    // m1 = 0.5 P1 = [0.3, 0.15, 0.05], m1(all) = 0.5; m2 = 0.5 P2 = [0.1, 0.25, 0.15], m2(all) = 0.5
    // m({c}) = (m1c + 0.5)(m2c + 0.5) - 0.25 = [0.23, 0.2375, 0.1075], m(all) = 0.25, total 0.825
    // BetP(c) = (m({c}) + 0.25 / 3) / 0.825
    const t = 0.25 / 3
    close(dempsterShaferRule(3, [{ probs: P1, weight: 0.5 }, { probs: P2, weight: 0.5 }]), [(0.23 + t) / 0.825, (0.2375 + t) / 0.825, (0.1075 + t) / 0.825])
  })

  it('ds: a missing source is ignorance and changes nothing; one source at reliability 0.5 spreads half its mass', () => {
    const one = dempsterShaferRule(3, [{ probs: P1, weight: 0.5 }])
    close(one, [0.3 + 0.5 / 3, 0.15 + 0.5 / 3, 0.05 + 0.5 / 3])
    close(dempsterShaferRule(3, [{ probs: P1, weight: 0.5 }, { probs: P2, weight: 0 }]), one)
  })

  it('ds: fully reliable sources combine as the product rule', () => {
    close(dempsterShaferRule(3, [{ probs: P1, weight: 1 }, { probs: P2, weight: 1 }]), [0.4, 0.5, 0.1])
  })

  it('ds: total conflict gives the uniform vector, not NaN', () => {
    close(dempsterShaferRule(2, [{ probs: [1, 0], weight: 1 }, { probs: [0, 1], weight: 1 }]), [0.5, 0.5])
  })

  it('every rule answers the uniform vector when no source is present', () => {
    for (const rule of ['sum', 'product', 'max', 'majority', 'borda', 'ds'] as const) close(combine(rule, 4, []), [0.25, 0.25, 0.25, 0.25])
  })

  it('every rule answers a probability vector, whatever the sources', () => {
    for (const rule of ['sum', 'product', 'max', 'majority', 'borda', 'ds'] as const) {
      const p = combine(rule, 3, [{ probs: P1, weight: 0.7 }, { probs: P2, weight: 0.2 }, { probs: P3, weight: 1 }])
      expect(Array.from(p).reduce((a, b) => a + b, 0), rule).to.be.closeTo(1, 1e-9)
      for (const x of p) expect(x, rule).to.be.within(0, 1)
    }
  })
})
