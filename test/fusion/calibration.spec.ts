import { expect } from 'chai'
import { calibrate, fitPlatt, fitTemperature, nll, type Labelled } from '../../lib/fusion/calibration.js'
import { fitModel, type ValidationItem } from '../../lib/fusion/fit.js'
import { fuseCalibrated } from '../../lib/fusion/model.js'
import { argmax, softmaxInPlace } from '../../lib/fusion/rules.js'
import { fitStacker, stack } from '../../lib/fusion/stacker.js'

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 0x100000000 }
}

function gauss (r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
}

function draw (r: () => number, p: ArrayLike<number>): number {
  let u = r()
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!
    if (u <= 0) return i
  }
  return p.length - 1
}

/** Items whose labels are drawn from softmax(z), reported as softmax(z * t): a source overconfident by temperature t. */
function overconfident (n: number, k: number, t: number, seed: number): Labelled[] {
  const r = rng(seed)
  const out: Labelled[] = []
  for (let i = 0; i < n; i++) {
    const z = Float64Array.from({ length: k }, () => 1.5 * gauss(r))
    const label = draw(r, softmaxInPlace(Float64Array.from(z)))
    out.push({ probs: softmaxInPlace(z.map(v => v * t)), label })
  }
  return out
}

describe('fusion calibration', () => {
  it('temperature scaling recovers a known temperature', () => {
    const samples = overconfident(6000, 10, 2.5, 7)
    const c = fitTemperature(samples)
    expect(c.kind).to.equal('temperature')
    expect((c as { t: number }).t).to.be.closeTo(2.5, 0.2)
    expect(nll(samples, c)).to.be.lessThan(nll(samples, { kind: 'none' }))
  })

  it('temperature scaling leaves a calibrated source at T close to 1', () => {
    const c = fitTemperature(overconfident(6000, 10, 1, 8))
    expect((c as { t: number }).t).to.be.closeTo(1, 0.1)
  })

  it('temperature scaling keeps the ranking of the labels', () => {
    const p = [0.5, 0.3, 0.2]
    const q = calibrate({ kind: 'temperature', t: 3 }, p)
    expect(argmax(q)).to.equal(0)
    expect(q[0]).to.be.lessThan(0.5)
    expect(q[1]).to.be.greaterThan(q[2]!)
  })

  it('Platt scaling tempers a label given with too much confidence', () => {
    // the top label is right 60% of the time but claimed at 0.99
    const r = rng(3)
    const samples: Labelled[] = Array.from({ length: 2000 }, () => {
      const top = Math.floor(r() * 4)
      const right = r() < 0.6
      const probs = [0.01 / 3, 0.01 / 3, 0.01 / 3, 0.01 / 3]
      probs[top] = 0.99
      return { probs, label: right ? top : (top + 1 + Math.floor(r() * 3)) % 4 }
    })
    const c = fitPlatt(samples)
    const q = calibrate(c, samples[0]!.probs)
    expect(q[argmax(samples[0]!.probs)]).to.be.closeTo(0.6, 0.03)
    expect(Array.from(q).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-9)
    expect(nll(samples, c)).to.be.lessThan(nll(samples, { kind: 'none' }))
  })

  it('the stacker learns a source that is consistently wrong in one way', () => {
    // source b always names the label after the true one: useless to the fixed rules, perfect to the stacker
    const k = 4
    const r = rng(11)
    const items = Array.from({ length: 800 }, () => {
      const label = Math.floor(r() * k)
      const b = new Float64Array(k).fill(0.02)
      b[(label + 1) % k] = 0.94
      const a = new Float64Array(k).fill(0.25)
      return { label, sources: new Map([['a', a], ['b', b]]) }
    })
    const s = fitStacker(['a', 'b'], k, items)
    const right = items.filter(it => argmax(stack(s, k, it.sources)) === it.label).length
    expect(right / items.length).to.be.greaterThan(0.99)
  })

  it('fitted weights favour the better source, and auto picks by held-out accuracy', () => {
    const k = 5
    const r = rng(5)
    const noisy = (label: number, acc: number): Float64Array => {
      const guess = r() < acc ? label : Math.floor(r() * k)
      const p = new Float64Array(k).fill(0.1 / (k - 1))
      p[guess] = 0.9
      return p
    }
    const items: ValidationItem[] = Array.from({ length: 600 }, () => {
      const label = Math.floor(r() * k)
      return { label, sources: new Map([['good', noisy(label, 0.9)], ['poor', noisy(label, 0.3)]]) }
    })
    const model = fitModel(['good', 'poor'], k, items)
    expect(model.weights.sum!.good).to.be.greaterThan(model.weights.sum!.poor!)
    expect(model.validation!.samples).to.equal(600)
    const chosen = model.validation!.rules[model.rule]!
    for (const s of Object.values(model.validation!.rules)) expect(chosen.accuracy).to.be.at.least(s.accuracy)
    // the fused answer does not fall below the good source alone
    const fused = items.filter(it => argmax(fuseCalibrated(model, model.rule, k, it.sources)) === it.label).length
    const alone = items.filter(it => argmax(it.sources.get('good')!) === it.label).length
    expect(fused).to.be.at.least(alone - 6)
  })

  it('a source missing from some items is handled by every rule of a fitted model', () => {
    const k = 3
    const r = rng(9)
    const items: ValidationItem[] = Array.from({ length: 200 }, (_, i) => {
      const label = Math.floor(r() * k)
      const p = new Float64Array(k).fill(0.2)
      p[label] = 0.6
      return { label, sources: new Map<string, Float64Array | undefined>([['a', p], ['b', i % 3 === 0 ? undefined : p]]) }
    })
    const model = fitModel(['a', 'b'], k, items)
    for (const rule of ['sum', 'product', 'max', 'majority', 'borda', 'ds', 'stacker'] as const) {
      const p = fuseCalibrated(model, rule, k, new Map<string, Float64Array | undefined>([['a', Float64Array.from([0.2, 0.6, 0.2])], ['b', undefined]]))
      expect(argmax(p), rule).to.equal(1)
    }
  })
})
