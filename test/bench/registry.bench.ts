import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { InstanceView } from '../../lib/interface/api.js'
import type { MemberTable } from '../../lib/membership/member-table.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { parseServiceSpec } from '../../lib/placement/index.js'
import { startMesh, stopAll } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'
import { summarise } from './stats.js'

const SERVICES = 1_000
const REPLICAS = 100
const NODES = 3
const SYNTHETIC = 117
const HOUR = 3_600_000

/**
 * Registry scale: 1,000 services of 100 replicas each (100,000 instances)
 * over 120 members, discoverable from every node. Three real nodes form the
 * mesh and replicate the catalog (the writes are made on one and pulled by
 * the others over the sync protocol); 117 more members are entered in every
 * node's member table as if a neighbour's member list had named them (no
 * process behind them, so probing is switched off for the run).
 *
 * Measured on every node, for every service: `resolve` right after a
 * membership change (cache dropped; the first call recomputes the whole
 * placement), from the placement cache (first resolve of a name), and from
 * the resolve cache. Baseline in the same run: a Map lookup of the same
 * instance lists, precomputed (the cost of a lookup with nothing to compute).
 */
export async function registryBench (): Promise<Record<string, unknown>> {
  const nodes = await startMesh(NODES, {
    // the synthetic members cannot answer probes; nothing here measures failure detection
    membership: { probeIntervalMs: HOUR, missAfterMs: HOUR, advertIntervalMs: 60_000, upkeepIntervalMs: HOUR },
    // no provider records for 80,000+ local instances: the DHT is not what is measured
    registry: { useDht: false, reconcileIntervalMs: HOUR }
  })
  try {
    await waitFor(() => nodes.every(n => n.services.membership.members().filter(m => m.status === 'alive').length === NODES), { timeoutMs: 60_000, what: 'mesh convergence' })
    const now = Date.now()
    const synthetic = await Promise.all(Array.from({ length: SYNTHETIC }, async (_, i) => {
      const seed = new Uint8Array(32)
      new DataView(seed.buffer).setUint32(0, 0x5ca1e)
      new DataView(seed.buffer).setUint32(4, i)
      return peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString()
    }))
    for (const n of nodes) {
      const table = (n.services.membership as unknown as { table: MemberTable }).table
      for (const peerId of synthetic) {
        table.applySync({
          peerId,
          incarnation: 0,
          addrs: [],
          resources: { cpus: 8, load1: 0, load5: 0, load15: 0, memTotal: 32 * 2 ** 30, memFree: 16 * 2 ** 30, loopLagMs: 0, slotsTotal: 8, slotsUsed: 0, diskFree: 2 ** 40 },
          labels: {},
          services: [],
          version: '0.0.0'
        }, now)
      }
    }

    // the catalog: written on one node, pulled by the others over /noodle/catalog/sync
    const writer = nodes[0]!
    const t0 = performance.now()
    for (let i = 0; i < SERVICES; i++) {
      await writer.services.registry.catalog.put(parseServiceSpec({ name: `svc-${String(i).padStart(4, '0')}`, replicas: REPLICAS }))
    }
    const writeMs = performance.now() - t0
    const t1 = performance.now()
    for (const n of nodes.slice(1)) await n.services.registry.pull(writer.peerId)
    const replicateMs = performance.now() - t1
    if (!nodes.every(n => n.services.registry.catalog.list().length === SERVICES)) throw new Error('catalog did not replicate')

    const names = writer.services.registry.catalog.list().map(s => s.name)
    const perNode = []
    const expected = new Map<string, string>()
    for (const n of nodes) {
      const reg = n.services.registry
      // a membership change drops every cache: the first resolve recomputes the placement
      n.services.membership.safeDispatchEvent('member', { detail: { type: 'update', peerId: synthetic[0]!, status: 'alive', incarnation: 0, time: new Date().toISOString() } })
      const tc = performance.now()
      await reg.resolve(names[0]!)
      const afterChangeMs = performance.now() - tc
      const cold: number[] = []
      const warm: number[] = []
      const found = new Map<string, InstanceView[]>()
      const tCold = performance.now()
      for (const name of names) {
        const s = performance.now()
        const r = await reg.resolve(name)
        cold.push((performance.now() - s) * 1000)
        found.set(name, r.instances)
      }
      const coldWall = performance.now() - tCold
      const tWarm = performance.now()
      for (const name of names) {
        const s = performance.now()
        await reg.resolve(name)
        warm.push((performance.now() - s) * 1000)
      }
      const warmWall = performance.now() - tWarm
      // every service: 100 healthy instances, the same ones on every node
      let complete = 0
      for (const [name, instances] of found) {
        const key = instances.map(i => i.peerId).join()
        if (instances.length === REPLICAS && instances.every(i => i.healthy)) complete++
        if (!expected.has(name)) expected.set(name, key)
        else if (expected.get(name) !== key) throw new Error(`node ${nodes.indexOf(n)} resolves ${name} differently`)
      }
      // baseline: the same lists from a Map, nothing computed
      const base: number[] = []
      let sink = 0
      const tBase = performance.now()
      for (const name of names) {
        const s = performance.now()
        sink += found.get(name)!.length
        base.push((performance.now() - s) * 1000)
      }
      const baseWall = performance.now() - tBase
      if (sink === 0) throw new Error('unreachable')
      perNode.push({
        node: nodes.indexOf(n),
        servicesWithAllInstancesHealthy: complete,
        firstResolveAfterMembershipChangeMs: round(afterChangeMs),
        resolveFromPlacementCache: summarise(cold, coldWall),
        resolveFromResolveCache: summarise(warm, warmWall),
        baselineMapLookup: summarise(base, baseWall)
      })
    }
    const worstP99 = Math.max(...perNode.map(p => p.resolveFromPlacementCache.p99Us))
    return {
      name: 'registry',
      services: SERVICES,
      replicasEach: REPLICAS,
      members: NODES + SYNTHETIC,
      nodes: NODES,
      catalogWriteMs: round(writeMs),
      catalogReplicateMsPerNode: round(replicateMs / (NODES - 1)),
      discoverableFromEveryNode: perNode.every(p => p.servicesWithAllInstancesHealthy === SERVICES),
      lookupP99Us: { fromPlacementCache: worstP99, fromResolveCache: Math.max(...perNode.map(p => p.resolveFromResolveCache.p99Us)), baselineMapLookup: Math.max(...perNode.map(p => p.baselineMapLookup.p99Us)) },
      perNode
    }
  } finally {
    await stopAll(nodes as NoodleNode[])
  }
}

function round (x: number): number {
  return Math.round(x * 10) / 10
}
