import { expect } from 'chai'
import { Balancer } from '../../lib/rpc/balancer.js'
import { EJECT_AFTER_FAILURES, EJECT_FOR_MS, NOT_READY_COOLDOWN_MS, RTT_DECAY_MS } from '../../lib/rpc/constants.js'

const healthy = (...ids: string[]): Array<{ peerId: string, healthy: boolean }> => ids.map(peerId => ({ peerId, healthy: true }))

describe('rpc balancer', () => {
  it('of two random candidates takes the one with fewer calls in flight', () => {
    const b = new Balancer()
    for (let i = 0; i < 5; i++) b.begin('a')
    // with two instances both are always the candidates: the idle one wins every time
    for (let i = 0; i < 20; i++) expect(b.pick('svc', healthy('a', 'b'), new Set())).to.equal('b')
  })

  it('passes over a slow instance at once, follows faster calls gradually, and tries it again once its estimate fades', () => {
    let now = 0
    const b = new Balancer({ now: () => now })
    b.observe('svc', 'a', 1)
    b.observe('svc', 'b', 1)
    expect(b.latency('svc', 'a')).to.equal(1)
    // one slow answer (or a cancelled call that had waited that long) is believed at once
    b.observe('svc', 'b', 100, true)
    expect(b.latency('svc', 'b')).to.equal(100)
    for (let i = 0; i < 20; i++) expect(b.pick('svc', healthy('a', 'b'), new Set())).to.equal('a')
    // calls in flight still count: 'a' with 150 of them costs more than an idle 'b' at 100 ms
    for (let i = 0; i < 150; i++) b.begin('a')
    expect(b.pick('svc', healthy('a', 'b'), new Set())).to.equal('b')
    for (let i = 0; i < 150; i++) b.end('a')
    // a failure or cancel sooner than the estimate says nothing new: it does not make an instance look fast
    b.observe('svc', 'b', 0.1, true)
    expect(b.latency('svc', 'b')).to.equal(100)
    // a fast answer right away hardly moves it; one after a while moves it by how old the estimate is
    b.observe('svc', 'b', 1)
    expect(b.latency('svc', 'b')).to.be.closeTo(100, 0.01)
    now += RTT_DECAY_MS
    b.observe('svc', 'b', 1)
    expect(b.latency('svc', 'b')).to.be.closeTo(100 / Math.E + 1 * (1 - 1 / Math.E), 1e-9)
    // not called, the estimate fades: about 5 decay times later 'b' competes again
    now += 5 * RTT_DECAY_MS
    b.observe('svc', 'a', 1)
    expect(b.latency('svc', 'b')).to.be.below(1)
    const picks = new Set(Array.from({ length: 50 }, () => b.pick('svc', healthy('a', 'b'), new Set())))
    expect(picks).to.include('b')
    // estimates are per service: 'b' is slow for svc, unknown for another
    expect(b.latency('other', 'b')).to.equal(0)
  })

  it('spreads calls over many equally loaded instances', () => {
    const b = new Balancer()
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`)
    const counts = new Map<string, number>()
    for (let i = 0; i < 1000; i++) {
      const p = b.pick('svc', healthy(...ids), new Set())!
      b.begin(p)
      counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    // power of two choices keeps every instance within a few calls of the mean (100)
    for (const id of ids) expect(counts.get(id)).to.be.within(95, 105)
  })

  it('skips unhealthy and already tried instances, and says so when none is left', () => {
    const b = new Balancer()
    const instances = [{ peerId: 'a', healthy: false }, { peerId: 'b', healthy: true }, { peerId: 'c', healthy: true }]
    expect(b.pick('svc', instances, new Set(['b']))).to.equal('c')
    expect(b.pick('svc', instances, new Set(['b', 'c']))).to.equal(undefined)
  })

  it('falls back to an instance on a suspect member when no healthy one is left, never to a failed one', () => {
    const b = new Balancer()
    const instances = [
      { peerId: 'a', healthy: false, memberStatus: 'failed' },
      { peerId: 's', healthy: false, memberStatus: 'suspect' },
      { peerId: 'h', healthy: true, memberStatus: 'alive' }
    ]
    expect(b.pick('svc', instances, new Set())).to.equal('h')
    expect(b.pick('svc', instances, new Set(['h']))).to.equal('s')
    expect(b.pick('svc', instances, new Set(['h', 's']))).to.equal(undefined)
  })

  it('ejects an instance after consecutive failures, re-admits it later, and a success clears the count', () => {
    let now = 1_000
    const b = new Balancer({ now: () => now })
    for (let i = 0; i < EJECT_AFTER_FAILURES - 1; i++) b.failed('svc', 'a')
    b.succeeded('svc', 'a')
    for (let i = 0; i < EJECT_AFTER_FAILURES - 1; i++) b.failed('svc', 'a')
    expect(b.ejected('svc', 'a')).to.equal(false)
    b.failed('svc', 'a')
    expect(b.ejected('svc', 'a')).to.equal(true)
    expect(b.ejected('other', 'a')).to.equal(false)
    for (let i = 0; i < 20; i++) expect(b.pick('svc', healthy('a', 'b'), new Set())).to.equal('b')
    // every instance ejected: the healthy ones are still used rather than none
    expect(b.pick('svc', healthy('a'), new Set())).to.equal('a')
    now += EJECT_FOR_MS + 1
    expect(b.ejected('svc', 'a')).to.equal(false)
  })

  it('passes over an instance that is not ready yet only briefly, and counts no failure against it', () => {
    let now = 1_000
    const b = new Balancer({ now: () => now })
    for (let i = 0; i < 3 * EJECT_AFTER_FAILURES; i++) b.notReady('svc', 'a')
    expect(b.ejected('svc', 'a')).to.equal(true)
    expect(b.ejections).to.equal(0)
    for (let i = 0; i < 20; i++) expect(b.pick('svc', healthy('a', 'b'), new Set())).to.equal('b')
    now += NOT_READY_COOLDOWN_MS + 1
    expect(b.ejected('svc', 'a')).to.equal(false)
    // its failure count is untouched: one real failure does not eject it
    b.failed('svc', 'a')
    expect(b.ejected('svc', 'a')).to.equal(false)
  })
})
