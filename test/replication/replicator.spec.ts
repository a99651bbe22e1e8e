import { TopicValidatorResult } from '@libp2p/gossipsub'
import { logger } from '@libp2p/logger'
import { expect } from 'chai'
import { z } from 'zod'
import { encodeJson } from '../../lib/json-codec.js'
import { Replicator, type ReplicatedSet } from '../../lib/replication/index.js'
import { frame } from '../utils/raw-frames.js'
import { StubNetwork, type StubPeer } from '../utils/stub-network.js'
import { waitFor } from '../utils/wait-for.js'

/** A last-writer-wins map of `{ key, version, by }`: the simplest set with a merge rule and a verification. */
class LwwMap {
  readonly entries = new Map<string, { key: string, version: number, by: string }>()
  readonly digests: Array<Record<string, number>> = []
  private readonly entrySchema = z.strictObject({ key: z.string(), version: z.number().int(), by: z.string() })

  put (key: string, version: number, by: string): { key: string, version: number, by: string } {
    const e = { key, version, by }
    this.entries.set(key, e)
    return e
  }

  set (): ReplicatedSet<Record<string, number>> {
    return {
      digest: () => Object.fromEntries([...this.entries.values()].map(e => [e.key, e.version])),
      missing: (theirs) => {
        this.digests.push(theirs)
        return [...this.entries.values()].filter(e => (theirs[e.key] ?? 0) < e.version)
      },
      behind: (theirs) => Object.entries(theirs).some(([k, v]) => (this.entries.get(k)?.version ?? 0) < v),
      verifyGossip: (entries, from) => {
        for (const e of entries) if (this.entrySchema.parse(e).by !== from.toString()) throw new Error('forged')
      },
      merge: async (entries) => {
        const applied: unknown[] = []
        let rejected = 0
        for (const raw of entries) {
          const parsed = this.entrySchema.safeParse(raw)
          if (!parsed.success) { rejected++; continue }
          const e = parsed.data
          if ((this.entries.get(e.key)?.version ?? 0) >= e.version) continue
          this.entries.set(e.key, e)
          applied.push(e)
        }
        return { applied, rejected }
      }
    }
  }
}

const TOPIC = 'test/entries/1'
const PROTOCOL = '/test/entries/sync/1.0.0'

interface Node { peer: StubPeer, map: LwwMap, replicator: Replicator<Record<string, number>> }

describe('Replicator (stubbed components, in-memory streams)', () => {
  let net: StubNetwork
  let nodes: Node[] = []

  async function node (init: { forwardPeers?: number, pushPeers?: number, pullOnConnect?: 'always' | 'until-caught-up' } = {}): Promise<Node> {
    const peer = await net.peer()
    const map = new LwwMap()
    const replicator = new Replicator({ pubsub: peer.gossip, registrar: peer.registrar, connectionManager: peer.connectionManager, events: peer.events }, {
      name: 'test',
      topic: TOPIC,
      protocol: PROTOCOL,
      set: map.set(),
      wire: { gossipField: 'entries', gossipVersion: true, maxGossipEntries: 4, maxGossipBytes: 1024, requestField: 'digest', digestSchema: z.record(z.string(), z.number()), maxRequestBytes: 4096, responseField: 'entries', maxResponseEntries: 100, maxResponseBytes: 64 * 1024 },
      log: logger('test:replicator'),
      // anti-entropy out of the way: each test drives pulls itself
      syncIntervalMs: 3_600_000,
      pushPeers: init.pushPeers ?? 16,
      forwardPeers: init.forwardPeers ?? 0,
      pullOnConnect: init.pullOnConnect ?? 'until-caught-up'
    })
    await replicator.start()
    replicator.afterStart()
    const n = { peer, map, replicator }
    nodes.push(n)
    return n
  }

  /** Connect two nodes and wait for the pulls each makes of the other on connecting. */
  async function link (a: Node, b: Node): Promise<void> {
    net.connect(a.peer, b.peer)
    await waitFor(() => a.replicator.caughtUp && b.replicator.caughtUp, { what: 'the pulls made on connecting' })
  }

  /** The peer stops listening on the topic: only pulls and pushes reach it. */
  function deaf (n: Node): void {
    n.peer.pubsub.unsubscribe(TOPIC)
  }

  beforeEach(() => { net = new StubNetwork() })
  afterEach(async () => {
    await Promise.all(nodes.map(async n => { await n.replicator.stop() }))
    nodes = []
  })

  it('a pull sends a digest and brings only what the puller lacks or holds older', async () => {
    const a = await node()
    const b = await node()
    await link(a, b)
    a.map.put('x', 1, a.peer.id)
    a.map.put('y', 3, a.peer.id)
    b.map.put('x', 1, a.peer.id)
    b.map.put('y', 1, a.peer.id)
    expect(await b.replicator.pull(a.peer.peerId)).to.equal(1)
    expect(b.map.entries.get('y')?.version).to.equal(3)
    // a was asked with b's digest and answered y alone
    expect(a.map.digests.at(-1)).to.deep.equal({ x: 1, y: 1 })
    expect(b.replicator.counters.pulls).to.be.greaterThan(0)
    expect(b.replicator.caughtUp).to.equal(true)
  })

  it('a write is gossiped to the connected subscribers', async () => {
    const [a, b, c] = [await node(), await node(), await node()]
    net.connect(a.peer, b.peer)
    net.connect(a.peer, c.peer)
    await a.replicator.announce([a.map.put('k', 1, a.peer.id)])
    await waitFor(() => b.map.entries.has('k') && c.map.entries.has('k'), { what: 'the write at b and c' })
  })

  it('a write reaches a connected peer that gossip missed, by push-pull', async () => {
    const [a, b] = [await node(), await node()]
    net.connect(a.peer, b.peer)
    deaf(b)
    await a.replicator.announce([a.map.put('k', 1, a.peer.id)])
    // a asked b to pull: b saw from a's digest that a holds something newer, and pulled it
    await waitFor(() => b.map.entries.get('k')?.version === 1, { what: 'b to pull the write back' })
  })

  /** a - b - c in a line, b and c deaf to gossip, a writes `k`: what reaches c depends on b's forwarding. */
  async function lineWrite (forwardPeers: number): Promise<[Node, Node, Node]> {
    const a = await node()
    const b = await node({ forwardPeers })
    const c = await node()
    net.connect(a.peer, b.peer)
    net.connect(b.peer, c.peer)
    deaf(b)
    deaf(c)
    await a.replicator.announce([a.map.put('k', 1, a.peer.id)])
    return [a, b, c]
  }

  it('entries learnt by a pull are pushed on to peers the writer is not connected to', async () => {
    const [, , c] = await lineWrite(2)
    await waitFor(() => c.map.entries.get('k')?.version === 1, { what: 'c, two hops from the writer, to have the write' })
  })

  it('without forwardPeers, what a pull brought stays where it is until anti-entropy', async () => {
    const [, b, c] = await lineWrite(0)
    await waitFor(() => b.map.entries.has('k'), { what: 'b to have the write' })
    // the next pull c makes (its anti-entropy) brings it
    expect(c.map.entries.has('k')).to.equal(false)
    await c.replicator.antiEntropy()
    expect(c.map.entries.has('k')).to.equal(true)
  })

  it('the topic validator refuses malformed, oversized and forged gossip, and counts each', async () => {
    const [a, b] = [await node(), await node()]
    net.connect(a.peer, b.peer)
    const publish = async (value: unknown): Promise<void> => { await a.peer.pubsub.publish(TOPIC, value instanceof Uint8Array ? value : encodeJson(value)) }
    await publish(new TextEncoder().encode('not json'))
    await publish({ v: 1, entries: [] })
    await publish({ v: 1, entries: [{ key: 'k', version: 1, by: a.peer.id }], extra: true })
    await publish({ v: 1, entries: [{ key: 'k', version: 1, by: 'x'.repeat(2000) }] })
    await publish({ v: 1, entries: [{ key: 'k', version: 1, by: b.peer.id }] })
    expect(b.replicator.counters.gossipRejected).to.equal(5)
    expect(b.peer.pubsub.verdicts.every(v => v === TopicValidatorResult.Reject)).to.equal(true)
    expect(b.map.entries.size).to.equal(0)
    // and a good one still goes through
    await publish({ v: 1, entries: [{ key: 'k', version: 1, by: a.peer.id }] })
    await waitFor(() => b.map.entries.has('k'), { what: 'the valid entry' })
  })

  it('a malformed pull request is counted and its stream aborted; the next pull is served', async () => {
    const [a, b] = [await node(), await node()]
    await link(a, b)
    a.map.put('k', 1, a.peer.id)
    const stream = await b.peer.connectionManager.openStream(a.peer.peerId, PROTOCOL)
    stream.send(frame({ digest: 'not a record' }))
    await waitFor(() => a.replicator.counters.syncRejected === 1, { what: 'the request to be refused' })
    await waitFor(() => stream.status !== 'open', { what: 'the stream to be aborted' })
    expect(await b.replicator.pull(a.peer.peerId)).to.equal(1)
  })

  it('entries the set refuses in a pull answer are counted, the rest applied', async () => {
    const [a, b] = [await node(), await node()]
    await link(a, b)
    a.map.entries.set('bad', { key: 'bad', version: 2, by: 42 as unknown as string })
    a.map.put('good', 1, a.peer.id)
    expect(await b.replicator.pull(a.peer.peerId)).to.equal(1)
    expect(b.replicator.counters.syncRejected).to.equal(1)
  })

  it('pulls from new connections until it has caught up once, or always', async () => {
    const until = await node({ pullOnConnect: 'until-caught-up' })
    const always = await node({ pullOnConnect: 'always' })
    const [p1, p2] = [await node(), await node()]
    net.connect(until.peer, p1.peer)
    net.connect(always.peer, p1.peer)
    await waitFor(() => until.replicator.caughtUp && always.replicator.caughtUp, { what: 'both to catch up' })
    const before = { until: until.peer.opened.get(PROTOCOL) ?? 0, always: always.peer.opened.get(PROTOCOL) ?? 0 }
    net.connect(until.peer, p2.peer)
    net.connect(always.peer, p2.peer)
    await waitFor(() => (always.peer.opened.get(PROTOCOL) ?? 0) > before.always, { what: 'a pull from the new connection' })
    expect(until.peer.opened.get(PROTOCOL) ?? 0).to.equal(before.until)
  })

  it('start and stop are idempotent; stopped, it serves no pulls and leaves the topic', async () => {
    const [a, b] = [await node(), await node()]
    await a.replicator.start()
    a.replicator.afterStart()
    expect(a.replicator.isStarted()).to.equal(true)
    await a.replicator.stop()
    await a.replicator.stop()
    expect(a.replicator.isStarted()).to.equal(false)
    expect(a.peer.handlers.has(PROTOCOL)).to.equal(false)
    expect(a.peer.pubsub.topics.has(TOPIC)).to.equal(false)
    expect(a.peer.pubsub.topicValidators.has(TOPIC)).to.equal(false)
    net.connect(a.peer, b.peer)
    expect(await b.replicator.pull(a.peer.peerId)).to.equal(0)
    nodes = nodes.filter(n => n !== a)
  })
})
