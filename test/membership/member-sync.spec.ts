import { logger } from '@libp2p/logger'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { newCounters, type MembershipContext, type RejectReason } from '../../lib/membership/context.js'
import { Incarnation } from '../../lib/membership/incarnation.js'
import { LocalHealth } from '../../lib/membership/local-health.js'
import { MemberSync } from '../../lib/membership/member-sync.js'
import { MemberTable, type MemberEvent } from '../../lib/membership/member-table.js'
import { TIMING_PRESETS } from '../../lib/membership/presets.js'
import type { Advert } from '../../lib/membership/wire.js'
import { frame } from '../utils/raw-frames.js'
import { StubNetwork, type StubPeer } from '../utils/stub-network.js'
import { waitFor } from '../utils/wait-for.js'

const PROTOCOL = '/test/members/sync/1.0.0'
const resources = { cpus: 2, load1: 0, load5: 0, load15: 0, memTotal: 1, memFree: 1, loopLagMs: 0, slotsTotal: 2, slotsUsed: 0, diskFree: 0 }
const advert = (peerId: string, incarnation = 0): Advert => ({ v: 1, type: 'advert', peerId, seq: 1, incarnation, status: 'alive', addrs: [], resources, labels: {}, services: [], version: '1' })

interface Node {
  peer: StubPeer
  table: MemberTable
  sync: MemberSync
  incarnation: Incarnation
  events: MemberEvent[]
  rejected: RejectReason[]
  /** adverts this node was asked to send at once */
  advertised: number
  controller: AbortController
}

describe('member sync (stubbed components, in-memory streams)', () => {
  let net: StubNetwork
  let nodes: Node[] = []

  async function node (): Promise<Node> {
    const peer = await net.peer()
    const table = new MemberTable(peer.id)
    const health = new LocalHealth()
    const log = logger('test:member-sync')
    const incarnation = new Incarnation({ datastore: new MemoryDatastore(), health, log })
    await incarnation.load()
    const controller = new AbortController()
    const n: Partial<Node> & { events: MemberEvent[], rejected: RejectReason[], advertised: number } = { peer, table, incarnation, events: [], rejected: [], advertised: 0, controller }
    const context: MembershipContext = {
      self: peer.id,
      timing: { ...TIMING_PRESETS.local, upkeepIntervalMs: 3_600_000, syncIntervalMs: 3_600_000 },
      table,
      health,
      counters: newCounters(),
      log,
      signal: () => controller.signal,
      leaving: () => false,
      emit: (e) => { n.events.push(e) },
      reject: (r) => { n.rejected.push(r) }
    }
    n.sync = new MemberSync({ registrar: peer.registrar, connectionManager: peer.connectionManager }, {
      protocol: PROTOCOL,
      context,
      advertiser: { hasAdvert: false, signedSelf: async () => undefined, advertNow: async () => { n.advertised++ } },
      gossip: { pushReceived: async () => {} },
      incarnation,
      addresses: { remember: async () => {} },
      topology: { upkeep: async () => {} },
      selfEntry: () => ({ peerId: peer.id, incarnation: incarnation.value, addrs: [], resources, labels: {}, services: [], version: '1' })
    })
    await n.sync.start()
    nodes.push(n as Node)
    return n as Node
  }

  beforeEach(() => { net = new StubNetwork() })
  afterEach(async () => {
    for (const n of nodes) n.controller.abort()
    await Promise.all(nodes.map(async n => { await n.sync.stop() }))
    nodes = []
  })

  it('a pull lists the neighbour and the members it holds alive or suspect', async () => {
    const [a, b, x, y] = [await node(), await node(), await node(), await node()]
    b.table.applyAdvert(advert(x.peer.id), Date.now())
    b.table.applyAdvert(advert(y.peer.id), Date.now())
    b.table.suspect(y.peer.id, b.peer.id, 0, Date.now())
    net.connect(a.peer, b.peer)
    await a.sync.pull(b.peer.peerId, true)
    for (const m of [b, x, y]) expect(a.table.get(m.peer.id)?.status).to.equal('alive')
    expect(a.events.filter(e => e.type === 'join')).to.have.length(3)
  })

  it('a member the neighbour holds down is suspected here on its word, never failed outright', async () => {
    const [a, b, z] = [await node(), await node(), await node()]
    a.table.applyAdvert(advert(z.peer.id), Date.now())
    b.table.applyAdvert(advert(z.peer.id), Date.now())
    b.table.fail(z.peer.id, 0, Date.now())
    net.connect(a.peer, b.peer)
    await a.sync.pull(b.peer.peerId, true)
    expect(a.table.get(z.peer.id)?.status).to.equal('suspect')
    expect(a.events.find(e => e.peerId === z.peer.id)).to.include({ type: 'suspect', by: b.peer.id, reason: 'claim' })
  })

  it('held down by the asker, the answerer refutes before it answers', async () => {
    const [a, b] = [await node(), await node()]
    a.table.applyAdvert(advert(b.peer.id), Date.now())
    a.table.fail(b.peer.id, 0, Date.now())
    net.connect(a.peer, b.peer)
    await a.sync.pull(b.peer.peerId, true)
    expect(b.incarnation.value).to.equal(1)
    expect(b.advertised).to.equal(1)
  })

  it('named down in the answer, the asker refutes and advertises at once', async () => {
    const [a, b] = [await node(), await node()]
    b.table.applyAdvert(advert(a.peer.id), Date.now())
    b.table.suspect(a.peer.id, b.peer.id, 0, Date.now())
    net.connect(a.peer, b.peer)
    await a.sync.pull(b.peer.peerId, true)
    expect(a.incarnation.value).to.equal(1)
    expect(a.advertised).to.be.greaterThan(0)
  })

  it('a newcomer pulls from its first two connections, no more', async () => {
    const [a, b, c, d] = [await node(), await node(), await node(), await node()]
    for (const p of [b, c, d]) {
      net.connect(a.peer, p.peer)
      a.sync.connected(p.peer.peerId)
    }
    await waitFor(() => a.events.filter(e => e.type === 'join').length >= 2, { what: 'two member lists' })
    expect(a.peer.opened.get(PROTOCOL)).to.equal(2)
  })

  it('a malformed request is refused and counted; the next pull is answered', async () => {
    const [a, b] = [await node(), await node()]
    net.connect(a.peer, b.peer)
    const stream = await a.peer.openStream(b.peer.peerId, PROTOCOL)
    stream.send(frame({ you: { status: 'gone', incarnation: -1 } }))
    await waitFor(() => b.rejected.includes('malformed'), { what: 'the request to be refused' })
    await a.sync.pull(b.peer.peerId, true)
    expect(a.table.get(b.peer.id)?.status).to.equal('alive')
  })
})
