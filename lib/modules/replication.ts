import type { Logger } from '@libp2p/interface'
import { z } from 'zod'
import { Replicator, type ReplicatedSet, type ReplicatorComponents } from '../replication/index.js'
import { MAX_CATALOG_ENTRY_BYTES, verifyEntry } from './catalog-entry.js'
import type { ModuleCatalog } from './catalog.js'

/** Anti-entropy: pull a random neighbour's catalog this often (as the service catalog does). */
export const MODULE_SYNC_INTERVAL_MS = 30_000
/** Entries per gossip message. */
const MAX_GOSSIP_ENTRIES = 16
/** Largest sync answer: room for tens of thousands of versions. */
const MAX_SYNC_BYTES = 32 * 1024 * 1024

/** what the puller holds: `name@version` -> root CID */
export type ModuleDigest = Record<string, string>

/**
 * The module catalog as a replicated set: each `name@version` names one
 * root CID, every entry signed by its publisher (checked in the topic
 * validator and again on merge); two publishes of one version resolve to the
 * same entry everywhere (catalog-entry.ts `preferred`).
 */
export function moduleCatalogSet (catalog: ModuleCatalog): ReplicatedSet<ModuleDigest> {
  return {
    digest: () => Object.fromEntries(catalog.all().map(e => [`${e.name}@${e.version}`, e.cid])),
    missing: (theirs) => catalog.all().filter(e => theirs[`${e.name}@${e.version}`] !== e.cid),
    verifyGossip: async (entries) => { for (const e of entries) await verifyEntry(e) },
    merge: async (entries, options) => await catalog.merge(entries, options)
  }
}

export interface ModuleCatalogReplicationInit {
  catalog: ModuleCatalog
  protocolPrefix: string
  log: Logger
  /** @default MODULE_SYNC_INTERVAL_MS */
  syncIntervalMs?: number
}

/**
 * Keeps the module catalog the same on every node: a publish is gossiped at
 * once, and a node pulls a neighbour's entries when it connects, when a peer
 * subscribes to the topic, and every MODULE_SYNC_INTERVAL_MS.
 */
export function moduleCatalogReplication (components: ReplicatorComponents, init: ModuleCatalogReplicationInit): Replicator<ModuleDigest> {
  return new Replicator(components, {
    name: 'module catalog',
    topic: `${init.protocolPrefix}/modules/1`.replace(/^\//, ''),
    protocol: `${init.protocolPrefix}/modules/sync/1.0.0`,
    set: moduleCatalogSet(init.catalog),
    wire: {
      gossipField: 'entries',
      gossipVersion: true,
      maxGossipEntries: MAX_GOSSIP_ENTRIES,
      maxGossipBytes: MAX_GOSSIP_ENTRIES * MAX_CATALOG_ENTRY_BYTES,
      requestField: 'have',
      digestSchema: z.record(z.string().max(160), z.string().max(128)),
      maxRequestBytes: MAX_SYNC_BYTES,
      responseField: 'entries',
      maxResponseEntries: 1_000_000,
      maxResponseBytes: MAX_SYNC_BYTES
    },
    log: init.log,
    syncIntervalMs: init.syncIntervalMs ?? MODULE_SYNC_INTERVAL_MS,
    pullOnConnect: 'always',
    pullOnSubscribe: true
  })
}
