import { expect } from 'chai'
import { MemberTable } from '../../lib/membership/member-table.js'
import { suspicionTimeout } from '../../lib/membership/suspicion.js'
import { LocalHealth } from '../../lib/membership/local-health.js'
import { decodeMessage, encodeMessage, type Advert } from '../../lib/membership/wire.js'

const resources = { cpus: 2, load1: 0, load5: 0, load15: 0, memTotal: 1, memFree: 1, loopLagMs: 0, slotsTotal: 2, slotsUsed: 0, diskFree: 0 }

function advert (peerId: string, seq: number, over: Partial<Advert> = {}): Advert {
  return { v: 1, type: 'advert', peerId, seq, incarnation: 0, status: 'alive', addrs: [], resources, labels: {}, services: [], version: '1', ...over }
}

describe('member table', () => {
  it('keeps a refusal mark on a suspicion until the member is alive again', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1), 1000)
    t.markRefused('a')
    expect(t.get('a')?.suspicion).to.equal(undefined)
    t.suspect('a', 'self', 0, 2000)
    t.markRefused('a')
    expect(t.get('a')?.suspicion?.refused).to.equal(true)
    t.applyAdvert(advert('a', 2), 2500)
    expect(t.get('a')?.status).to.equal('alive')
    expect(t.get('a')?.suspicion).to.equal(undefined)
  })

  it('adds a member on its first advert (join) and ignores stale or replayed ones', () => {
    const t = new MemberTable('self')
    expect(t.applyAdvert(advert('a', 5), 1000)?.type).to.equal('join')
    expect(t.isStale(advert('a', 5))).to.equal(true)
    expect(t.isStale(advert('a', 4))).to.equal(true)
    expect(t.applyAdvert(advert('a', 4), 1100)).to.equal(undefined)
    expect(t.get('a')?.seq).to.equal(5)
    // a new incarnation outranks any seq
    expect(t.isStale(advert('a', 1, { incarnation: 1 }))).to.equal(false)
  })

  it('learns unknown members from a neighbour\'s list, and lets their own adverts win', () => {
    const t = new MemberTable('self')
    const entry = { peerId: 'b', incarnation: 7, addrs: [], resources, labels: { from: 'sync' }, services: [], version: '1' }
    expect(t.applySync(entry, 0)?.type).to.equal('join')
    expect(t.applySync(entry, 1)).to.equal(undefined)
    // a neighbour cannot block the member's real adverts with inflated numbers
    expect(t.isStale(advert('b', 1, { incarnation: 0 }))).to.equal(false)
    // what it says of itself differs from the neighbour's report: an update
    expect(t.applyAdvert(advert('b', 1, { incarnation: 0 }), 2)?.type).to.equal('update')
    expect(t.get('b')?.labels).to.deep.equal({})
    expect(t.get('b')?.verified).to.equal(true)
    // known members are never overwritten by a list
    t.applySync({ ...entry, labels: { x: 'y' } }, 3)
    expect(t.get('b')?.labels).to.deep.equal({})
  })

  it('never lists itself', () => {
    const t = new MemberTable('self')
    expect(t.applyAdvert(advert('self', 1), 0)).to.equal(undefined)
    expect(t.size).to.equal(0)
  })

  it('reports updates only when labels, services, addresses or version change', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1), 0)
    expect(t.applyAdvert(advert('a', 2, { resources: { ...resources, load1: 3 } }), 1)).to.equal(undefined)
    expect(t.get('a')?.resources.load1).to.equal(3)
    expect(t.applyAdvert(advert('a', 3, { labels: { zone: 'x' } }), 2)?.type).to.equal('update')
  })

  it('suspects, gathers confirmations, fails on timeout, and recovers on a newer advert', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1), 0)
    expect(t.suspect('a', 'self', 0, 100)?.type).to.equal('suspect')
    expect(t.suspect('a', 'b', 0, 110)).to.equal(undefined)
    expect(t.suspect('a', 'c', 0, 120)).to.equal(undefined)
    expect([...t.get('a')!.suspicion!.confirmers].sort()).to.deep.equal(['b', 'c', 'self'])
    expect(t.expire(500, () => 1000)).to.deep.equal([])
    const failed = t.expire(1100, () => 1000)
    expect(failed.map(e => e.type)).to.deep.equal(['failed'])
    expect(t.get('a')?.status).to.equal('failed')
    expect(t.applyAdvert(advert('a', 2), 1200)?.type).to.equal('recovered')
    expect(t.get('a')?.status).to.equal('alive')
    expect(t.get('a')?.suspicion).to.equal(undefined)
  })

  it('lists expired suspicions without deciding, and ends one on direct evidence', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1), 0)
    t.suspect('a', 'b', 0, 100)
    expect(t.expiring(500, () => 1000)).to.deep.equal([])
    expect(t.expiring(1200, () => 1000).map(m => m.peerId)).to.deep.equal(['a'])
    expect(t.get('a')!.status).to.equal('suspect')
    expect(t.clearSuspicion('a', 1, 1300)).to.equal(undefined)
    expect(t.clearSuspicion('a', 0, 1300)?.type).to.equal('recovered')
    expect(t.get('a')!.status).to.equal('alive')
    expect(t.get('a')!.recoveredAt).to.equal(1300)
    expect(t.clearSuspicion('a', 0, 1400)).to.equal(undefined)
  })

  it('takes another member\'s failure verdict at once, unless it is about a refuted incarnation', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1, { incarnation: 2 }), 0)
    expect(t.fail('a', 1, 10)).to.equal(undefined)
    expect(t.get('a')?.status).to.equal('alive')
    expect(t.fail('a', 2, 20)?.type).to.equal('failed')
    expect(t.get('a')?.status).to.equal('failed')
    expect(t.fail('a', 2, 30)).to.equal(undefined)
    expect(t.fail('unknown', 0, 30)).to.equal(undefined)
    // the member's own newer advert (a refutation) brings it back
    expect(t.applyAdvert(advert('a', 1, { incarnation: 3 }), 40)?.type).to.equal('recovered')
  })

  it('ignores a claim about an incarnation the member has already refuted', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1, { incarnation: 3 }), 0)
    expect(t.suspect('a', 'b', 2, 10)).to.equal(undefined)
    expect(t.get('a')?.status).to.equal('alive')
    expect(t.suspect('a', 'b', 3, 10)?.type).to.equal('suspect')
    // the refutation: a higher incarnation clears the suspicion
    expect(t.applyAdvert(advert('a', 1, { incarnation: 4 }), 20)?.type).to.equal('recovered')
  })

  it('marks a member left on its own left advert and reaps it later', () => {
    const t = new MemberTable('self')
    t.applyAdvert(advert('a', 1), 0)
    expect(t.applyAdvert(advert('a', 2, { status: 'left' }), 10)?.type).to.equal('left')
    expect(t.suspect('a', 'b', 0, 20)).to.equal(undefined)
    expect(t.reap(100, 1000)).to.deep.equal([])
    expect(t.reap(1011, 1000)).to.deep.equal(['a'])
    expect(t.size).to.equal(0)
  })
})

describe('Lifeguard suspicion timeout and local health', () => {
  const base = { minMs: 600, maxFactor: 4 }

  it('starts at max and falls to min as confirmations arrive', () => {
    const n = 50
    const min = Math.round(600 * Math.log10(50))
    expect(suspicionTimeout({ ...base, members: n, confirmations: 0 })).to.equal(Math.round(600 * Math.log10(50) * 4))
    const one = suspicionTimeout({ ...base, members: n, confirmations: 1 })
    expect(one).to.be.lessThan(min * 4).and.greaterThan(min)
    // memberlist's K = 2: two confirmations beyond the first suspecter reach the minimum
    expect(suspicionTimeout({ ...base, members: n, confirmations: 2 })).to.equal(min)
    expect(suspicionTimeout({ ...base, members: n, confirmations: 30 })).to.equal(min)
  })

  it('grows with log N and with the local health multiplier', () => {
    expect(suspicionTimeout({ ...base, members: 3, confirmations: 3 })).to.equal(600)
    expect(suspicionTimeout({ ...base, members: 100, confirmations: 3 })).to.equal(1200)
    expect(suspicionTimeout({ ...base, members: 100, confirmations: 3, multiplier: 3 })).to.equal(3600)
  })

  it('a lagging or refuted node slows its own judgements', () => {
    const h = new LocalHealth()
    expect(h.multiplier).to.equal(1)
    h.observeLag(120)
    expect(h.multiplier).to.equal(3)
    h.refuted()
    expect(h.multiplier).to.equal(4)
    h.observeLag(0)
    h.probeSucceeded()
    expect(h.multiplier).to.equal(1)
    for (let i = 0; i < 20; i++) h.missedAck()
    expect(h.score).to.equal(8)
  })

  it('a host whose run queue is many times its CPUs slows every judgement made on it', () => {
    const h = new LocalHealth({ loadPerPoint: 2 })
    // up to one runnable process per CPU (CI's 1-1.5 included) costs nothing
    h.observeLoad(1.5)
    expect(h.multiplier).to.equal(1)
    h.observeLoad(3)
    expect(h.parts).to.deep.equal({ probe: 0, lag: 0, load: 1 })
    h.observeLag(120)
    h.refuted()
    // load, lag and probe points add up, capped
    expect(h.score).to.equal(1 + 2 + 1)
    h.observeLoad(33)
    expect(h.score).to.equal(8)
    expect(h.parts.load).to.equal(8)
    // the load falls and so does the score
    h.observeLoad(0.2)
    h.observeLag(0)
    expect(h.score).to.equal(1)
    // 0 turns the signal off; a nonsense reading adds nothing
    const off = new LocalHealth({ loadPerPoint: 0 })
    off.observeLoad(50)
    expect(off.score).to.equal(0)
    h.observeLoad(Number.NaN)
    expect(h.parts.load).to.equal(0)
  })

  it('a higher cap lets lag and load stretch timeouts further, but not missed probes', () => {
    const h = new LocalHealth({ loadPerPoint: 2, max: 32 })
    // a run queue of 61 per CPU: 30 points, where the default cap stops at 8
    h.observeLoad(61)
    expect(h.score).to.equal(30)
    h.observeLoad(200)
    expect(h.score).to.equal(32)
    expect(h.multiplier).to.equal(33)
    h.observeLoad(0)
    // Lifeguard's own probe signal keeps memberlist's cap
    for (let i = 0; i < 50; i++) h.missedAck()
    expect(h.parts.probe).to.equal(8)
    h.observeLag(10_000)
    expect(h.score).to.equal(32)
  })
})

describe('membership wire format', () => {
  it('round-trips an advert and rejects unknown fields or bad types', () => {
    const a = advert('12D3KooWtest', 1, { labels: { zone: 'a' } })
    expect(decodeMessage(encodeMessage(a))).to.deep.equal(a)
    const bad = new TextEncoder().encode(JSON.stringify({ ...a, extra: 1 }))
    expect(() => decodeMessage(bad)).to.throw()
    expect(() => decodeMessage(new TextEncoder().encode(JSON.stringify({ ...a, seq: -1 })))).to.throw()
    expect(() => decodeMessage(Uint8Array.of(0xff, 0xfe))).to.throw()
    // a suspect claim may say the accuser's dial was refused (true or absent, nothing else)
    const claim = { v: 1, type: 'suspect', target: 'x', incarnation: 2, refused: true } as const
    expect(decodeMessage(encodeMessage(claim))).to.deep.equal(claim)
    expect(() => decodeMessage(new TextEncoder().encode(JSON.stringify({ ...claim, refused: false })))).to.throw()
  })
})
