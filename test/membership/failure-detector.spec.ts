import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'chai'
import { newCounters, type MembershipContext } from '../../lib/membership/context.js'
import { FailureDetector } from '../../lib/membership/failure-detector.js'
import { LocalHealth } from '../../lib/membership/local-health.js'
import { MemberTable, type MemberEvent } from '../../lib/membership/member-table.js'
import { TIMING_PRESETS } from '../../lib/membership/presets.js'
import type { Advert, TopicMessage } from '../../lib/membership/wire.js'
import { waitFor } from '../utils/wait-for.js'

const resources = { cpus: 2, load1: 0, load5: 0, load15: 0, memTotal: 1, memFree: 1, loopLagMs: 0, slotsTotal: 2, slotsUsed: 0, diskFree: 0 }
const advert = (peerId: string): Advert => ({ v: 1, type: 'advert', peerId, seq: 1, incarnation: 0, status: 'alive', addrs: [], resources, labels: {}, services: [], version: '1' })
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
const newPeerId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

type Answer = 'ack' | 'timeout' | 'refused'

/**
 * The detector with every component stubbed: the prober answers as each
 * test says, the topology makes the target this node's one successor, and
 * what the detector gossips is recorded.
 */
async function detector (answers: { direct: Answer, indirect?: 'ack' | 'nack' | 'refused', lastChance?: Answer, joinedNow?: boolean }, timing: Partial<typeof TIMING_PRESETS.local> = {}) {
  const self = await newPeerId()
  const target = await newPeerId()
  const helper = await newPeerId()
  const table = new MemberTable(self)
  const longAgo = Date.now() - 60_000
  table.applyAdvert(advert(target), answers.joinedNow === true ? Date.now() : longAgo)
  table.applyAdvert(advert(helper), longAgo)
  const events: MemberEvent[] = []
  const published: TopicMessage[] = []
  const health = new LocalHealth({ max: 8 })
  const controller = new AbortController()
  const t = { ...TIMING_PRESETS.local, probeTimeoutMs: 50, indirectTimeoutMs: 100, suspicionMinMs: 200, suspicionMaxFactor: 1, tickMs: 20, probeIntervalMs: 3_600_000, ...timing }
  const context: MembershipContext = {
    self,
    timing: t,
    table,
    health,
    counters: newCounters(),
    log: logger('test:detector'),
    signal: () => controller.signal,
    leaving: () => false,
    emit: (e) => { events.push(e); if (e.type === 'suspect') d.hurry() },
    reject: () => {}
  }
  let judged = false
  const answer = async (a: Answer): Promise<{ rttMs: number }> => {
    if (a === 'ack') return { rttMs: 1 }
    if (a === 'refused') throw refused()
    throw new Error('probe timed out')
  }
  const d: FailureDetector = new FailureDetector({ connectionManager: { getConnections: () => [] } as unknown as ConnectionManager }, {
    context,
    prober: {
      prepare: async () => {},
      ping: async () => {
        // a suspected member's last-chance probe is the ping made once its suspicion ran out
        if (table.get(target)?.status === 'suspect') { judged = true; return await answer(answers.lastChance ?? 'timeout') }
        return await answer(answers.direct)
      },
      pingReq: async () => answers.indirect ?? 'nack'
    },
    topology: { update: () => ({ successors: [target], predecessors: [] }), monitors: 3 },
    advertiser: { publish: async (msg) => { published.push(msg); return 1 }, missAfterMs: () => 3_600_000 },
    addresses: { forget: () => {} }
  })
  return { d, target, table, events, published, health, controller, judged: () => judged, counters: context.counters }
}

describe('failure detector (stubbed prober, topology and gossip)', () => {
  const running: Array<{ d: FailureDetector, controller: AbortController }> = []
  afterEach(() => { for (const r of running.splice(0)) { r.d.stop(); r.controller.abort() } })

  it('a missed direct probe and no indirect ack: the member is suspected and the suspicion gossiped', async () => {
    const t = await detector({ direct: 'timeout', indirect: 'nack' })
    running.push(t)
    t.d.connectionLost(peerIdFromString(t.target))
    const suspect = await waitFor(() => t.events.find(e => e.type === 'suspect'), { what: 'a suspicion' })
    expect(suspect.reason).to.equal('no-ack')
    expect(t.published).to.deep.include({ v: 1, type: 'suspect', target: t.target, incarnation: 0 })
    expect(t.counters.indirectProbes).to.be.greaterThan(0)
  })

  it('an indirect ack keeps the member alive, and counts the missed direct ack against local health', async () => {
    const t = await detector({ direct: 'timeout', indirect: 'ack' })
    running.push(t)
    const before = t.health.score
    t.d.connectionLost(peerIdFromString(t.target))
    await waitFor(() => t.health.score > before, { what: 'local health to take the missed ack' })
    expect(t.events).to.deep.equal([])
    expect(t.table.get(t.target)?.status).to.equal('alive')
  })

  it('a refused dial is suspected at once, marked refused, with no indirect probes', async () => {
    const t = await detector({ direct: 'refused' })
    running.push(t)
    t.d.connectionLost(peerIdFromString(t.target))
    const suspect = await waitFor(() => t.events.find(e => e.type === 'suspect'), { what: 'a suspicion' })
    expect(suspect.reason).to.equal('refused')
    expect(t.table.get(t.target)?.suspicion?.refused).to.equal(true)
    expect(t.counters.indirectProbes).to.equal(0)
    expect(t.published).to.deep.include({ v: 1, type: 'suspect', target: t.target, incarnation: 0, refused: true })
  })

  it('a suspicion that runs out unrefuted becomes a failure, told to the others', async () => {
    const t = await detector({ direct: 'timeout', indirect: 'nack', lastChance: 'timeout' })
    running.push(t)
    t.d.start()
    t.d.connectionLost(peerIdFromString(t.target))
    const failed = await waitFor(() => t.events.find(e => e.type === 'failed'), { what: 'the verdict' })
    expect(failed.reason).to.equal('timeout')
    expect(t.judged()).to.equal(true)
    expect(t.published).to.deep.include({ v: 1, type: 'failed', target: t.target, incarnation: 0 })
  })

  it('a member that answers its last-chance probe stays alive', async () => {
    const t = await detector({ direct: 'timeout', indirect: 'nack', lastChance: 'ack' })
    running.push(t)
    t.d.start()
    t.d.connectionLost(peerIdFromString(t.target))
    await waitFor(() => t.events.some(e => e.type === 'recovered'), { what: 'the last-chance probe to bring it back' })
    expect(t.judged()).to.equal(true)
    expect(t.table.get(t.target)?.status).to.equal('alive')
    expect(t.events.some(e => e.type === 'failed')).to.equal(false)
    expect(t.counters.lastChanceAlive).to.equal(1)
  })

  it('a member that joined moments ago is not suspected for a missed probe (join grace)', async () => {
    const t = await detector({ direct: 'timeout', indirect: 'nack', joinedNow: true })
    running.push(t)
    // a second probe starts only once the first has ended, with its verdict
    await waitFor(() => { t.d.connectionLost(peerIdFromString(t.target)); return t.counters.probes >= 2 }, { what: 'the first probe to end' })
    expect(t.counters.probesFailed).to.be.greaterThan(0)
    expect(t.events).to.deep.equal([])
  })

  it('a refused dial is suspected even within the join grace', async () => {
    const t = await detector({ direct: 'refused', joinedNow: true })
    running.push(t)
    t.d.connectionLost(peerIdFromString(t.target))
    await waitFor(() => t.events.find(e => e.type === 'suspect'), { what: 'a suspicion' })
  })

  it('stopped, it probes nothing', async () => {
    const t = await detector({ direct: 'timeout' })
    t.d.start()
    t.d.stop()
    t.d.stop()
    t.controller.abort()
    t.d.connectionLost(peerIdFromString(t.target))
    expect(t.counters.probes).to.equal(0)
  })
})
