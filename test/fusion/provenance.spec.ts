import { expect } from 'chai'
import { defaultLogger } from '@libp2p/logger'
import { GraphStore } from '../../lib/knowledge/graph-store.js'
import { ProvenanceLog, type ProvenanceStore } from '../../lib/fusion/provenance.js'
import type { FusionRecord } from '../../lib/fusion/rdf.js'
import { tmpDir } from '../utils/tmp-repo.js'

const log = defaultLogger().forComponent('test:fusion:provenance')

let n = 0
function record (over: Partial<FusionRecord> = {}): FusionRecord {
  n++
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    task: 'digits',
    by: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN',
    startedAt: '2026-12-08T03:00:00.000Z',
    endedAt: '2026-12-08T03:00:00.012Z',
    deadlineMs: 200,
    elapsedMs: 11.87,
    rule: 'sum',
    weights: { 'image-lr': 1.5, 'audio-lr': 0.75, context: 0 },
    label: '7',
    confidence: 0.912345,
    partial: true,
    scores: { 6: 0.05, 7: 0.912345, 8: 0.037655 },
    inputs: [
      { modality: 'audio', mediaType: 'audio/wav', sha256: 'cd'.repeat(32), bytes: 16044 },
      { modality: 'image', mediaType: 'image/x-portable-graymap', sha256: 'ab'.repeat(32), bytes: 74 }
    ],
    processors: [
      { processor: 'audio-lr', modality: 'audio', service: 'digit-audio', status: 'timeout', hedged: true, error: 'DeadlineExceededError: no answer "in time"' },
      { processor: 'image-lr', modality: 'image', service: 'digit-image', status: 'ok', hedged: false, instance: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', module: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', latencyMs: 0.42 }
    ],
    context: { id: 'session "1"', previous: '31', status: 'ok', used: true },
    ...over
  }
}

describe('fusion provenance log', () => {
  it('reads a fusion back from its PROV-O triples as it was recorded, before and after the write', async () => {
    const dir = await tmpDir()
    const store = new GraphStore({ path: `${dir.path}/kg`, owner: 'test-owner', log })
    await store.start()
    try {
      const prov = new ProvenanceLog(store, { log, flushMs: 60_000 })
      const r = record()
      const bare = record({ partial: false, context: undefined, processors: [{ processor: 'image-lr', modality: 'image', service: 'digit-image', status: 'ok', hedged: false }], inputs: [record().inputs[1]!] })
      delete bare.context
      prov.record(r)
      prov.record(bare)
      // waiting to be written: explained from memory
      expect(await prov.explain(r.id)).to.deep.equal(r)
      await prov.flush()
      expect(prov.written).to.equal(2)
      // written: explained from the graph, the same record
      expect(await prov.explain(r.id)).to.deep.equal(r)
      expect(await prov.explain(bare.id)).to.deep.equal(bare)
      expect(await prov.explain(record().id)).to.equal(undefined)
      expect(await prov.explain('not-an-id')).to.equal(undefined)
    } finally {
      await store.stop()
      await dir.cleanup()
    }
  })

  it('writes what waits at a flush in one write per segment; what arrives during the write waits for the next', async () => {
    const adds: Array<{ name: string, fusions: number, done: () => void }> = []
    const cleared: string[] = []
    const graphs: string[] = []
    const store: ProvenanceStore = {
      list: () => graphs.map(name => ({ name, quads: 0 })),
      add: async (name, data) => {
        if (!graphs.includes(name)) graphs.push(name)
        await new Promise<void>(resolve => adds.push({ name, fusions: data.split('<urn:noodle:vocab:Fusion>').length - 1, done: resolve }))
      },
      update: async () => {},
      clear: async (name) => { cleared.push(name) },
      query: async () => ({ kind: 'bindings', bindings: [] })
    }
    const prov = new ProvenanceLog(store, { log, flushMs: 60_000, segmentSize: 10, segments: 2 })
    for (let i = 0; i < 4; i++) prov.record(record())
    const first = prov.flush()
    // the write is under way: what arrives now is not added to it
    for (let i = 0; i < 30; i++) prov.record(record())
    await waitUntil(() => adds.length === 1)
    adds[0]!.done()
    await first
    expect(adds).to.have.length(1)
    expect(prov.written).to.equal(4)
    // the next flush: 30 records fill the segment (6 more), then a new one (10), then the ring goes
    // round: the first is emptied and takes 10, the second is emptied and takes the last 4
    const second = prov.flush()
    for (let k = 1; k <= 4; k++) {
      await waitUntil(() => adds.length === k + 1)
      adds[k]!.done()
    }
    await second
    expect(adds.map(a => [a.name, a.fusions])).to.deep.equal([['fusion-log-0', 4], ['fusion-log-0', 6], ['fusion-log-1', 10], ['fusion-log-0', 10], ['fusion-log-1', 4]])
    expect(cleared).to.deep.equal(['fusion-log-0', 'fusion-log-1'])
    expect(prov.written).to.equal(34)
  })
})

async function waitUntil (test: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise(resolve => setImmediate(resolve))
  }
}
