import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockFetchSession } from '../../lib/modules/block-fetcher.js'
import { BlockServer } from '../../lib/modules/block-server.js'
import { BlockStreams } from '../../lib/modules/block-streams.js'
import { ProviderPenalties } from '../../lib/modules/penalties.js'
import { rejection } from '../utils/rejection.js'
import { StubNetwork, type StubPeer } from '../utils/stub-network.js'
import { waitFor } from '../utils/wait-for.js'

const PROTOCOL = '/test/blocks/1.0.0'

async function block (size = 1024): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new Uint8Array(randomBytes(size))
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function * list (peers: PeerId[]): AsyncGenerator<PeerId> {
  yield * peers
}

describe('block fetch session (stubbed components, in-memory streams)', () => {
  let net: StubNetwork
  let fetcher: StubPeer
  const servers: BlockServer[] = []

  /** A provider holding `blocks`; `lie` answers every request with other bytes. */
  async function provider (blocks: Array<{ cid: CID, bytes: Uint8Array }>, lie = false): Promise<StubPeer> {
    const peer = await net.peer()
    const held = new Map(blocks.map(b => [b.cid.toString(), b.bytes]))
    const server = new BlockServer(peer.registrar, {
      protocol: PROTOCOL,
      getBlock: async (cid) => {
        const bytes = held.get(cid.toString())
        if (bytes == null) throw new Error('not here')
        return lie ? new Uint8Array(bytes.length) : bytes
      },
      log: logger('test:blocks')
    })
    await server.start()
    servers.push(server)
    net.connect(fetcher, peer)
    return peer
  }

  function session (stored: Map<string, Uint8Array>, penalties = new ProviderPenalties()): BlockFetchSession {
    return new BlockFetchSession({
      streams: new BlockStreams(fetcher.connectionManager, PROTOCOL),
      self: fetcher.peerId,
      penalties,
      put: async (cid, bytes) => { stored.set(cid.toString(), bytes) },
      log: logger('test:fetch'),
      hedgeMs: 100,
      blockTimeoutMs: 2_000
    })
  }

  beforeEach(async () => {
    net = new StubNetwork()
    fetcher = await net.peer()
  })
  afterEach(async () => { await Promise.all(servers.splice(0).map(async s => { await s.stop() })) })

  it('fetches every block asked for, verified, and reports what each provider served', async () => {
    const blocks = await Promise.all(Array.from({ length: 12 }, async () => await block()))
    const p = await provider(blocks)
    const stored = new Map<string, Uint8Array>()
    const s = session(stored)
    s.start(list([p.peerId]))
    await s.get(blocks.map(b => b.cid))
    // the provider's report is final once its worker has found nothing left to ask
    s.close()
    await waitFor(() => s.reports.get(p.id)?.outcome, { what: 'the report' })
    expect(stored.size).to.equal(12)
    for (const b of blocks) expect(stored.get(b.cid.toString())).to.deep.equal(b.bytes)
    expect(s.providerReports()).to.deep.equal([{ peerId: p.id, blocks: 12, bytes: 12 * 1024, outcome: 'served' }])
  })

  it('a provider that sends bad bytes is dropped and penalised; another serves the block', async () => {
    const b = await block()
    const liar = await provider([b], true)
    const honest = await provider([b])
    const penalties = new ProviderPenalties()
    const stored = new Map<string, Uint8Array>()
    const s = session(stored, penalties)
    s.start(list([liar.peerId, honest.peerId]))
    await s.get([b.cid])
    s.close()
    await waitFor(() => s.reports.get(honest.id)?.outcome, { what: 'the reports' })
    expect(stored.get(b.cid.toString())).to.deep.equal(b.bytes)
    expect(s.reports.get(liar.id)?.outcome).to.equal('bad-block')
    expect(penalties.isPenalised(liar.id)).to.equal(true)
    expect(s.reports.get(honest.id)?.outcome).to.equal('served')
  })

  it('a provider that lacks a block gives it back to the others', async () => {
    const [b1, b2] = [await block(), await block()]
    const partial = await provider([b1])
    const full = await provider([b1, b2])
    const stored = new Map<string, Uint8Array>()
    const s = session(stored)
    s.start(list([partial.peerId, full.peerId]))
    await s.get([b1.cid, b2.cid])
    s.close()
    expect(stored.size).to.equal(2)
  })

  it('fails naming what each provider did when nobody holds the block', async () => {
    const b = await block()
    const other = await block()
    const p = await provider([other])
    const s = session(new Map())
    s.start(list([p.peerId]))
    const err = await rejection(s.get([b.cid]))
    s.close()
    expect(err.name).to.equal('BlockUnavailableError')
    expect(err.message).to.include(p.id).and.include('lacks-blocks')
  })

  it('fails with no provider found when the search finds none', async () => {
    const s = session(new Map())
    s.start(list([]))
    const err = await rejection(s.get([(await block()).cid]))
    expect(err.message).to.include('no provider found')
  })

  it('an unreachable provider is reported as such and the next one serves', async () => {
    const b = await block()
    const gone = await provider([b])
    net.disconnect(fetcher, gone)
    const up = await provider([b])
    const stored = new Map<string, Uint8Array>()
    const s = session(stored)
    s.start(list([gone.peerId, up.peerId]))
    await s.get([b.cid])
    s.close()
    expect(s.reports.get(gone.id)?.outcome).to.equal('unreachable')
    expect(stored.size).to.equal(1)
  })
})
