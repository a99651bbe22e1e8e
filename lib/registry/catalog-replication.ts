import type { Logger } from '@libp2p/interface'
import { z } from 'zod'
import { Replicator, type ReplicatedSet, type ReplicatorComponents } from '../replication/index.js'
import type { ServiceCatalog } from './catalog.js'
import { CATALOG_SYNC_PROTOCOL_SUFFIX, CATALOG_TOPIC_SUFFIX, MAX_CATALOG_MESSAGE_BYTES, MAX_CATALOG_SYNC_BYTES } from './constants.js'
import { newer, parseEntry, type CatalogEntry } from './entry.js'

/**
 * Connected members a deploy or remove is pushed to directly, besides gossip:
 * gossip reaches only the topic's mesh, which a young mesh may not have formed.
 */
const PUSH_PEERS = 16
/**
 * Members entries learnt by a pull are pushed on to: fewer than a writer
 * pushes to, since every member that learns by a pull forwards (with 16
 * each, one write in a mesh of N costs up to 16 N pulls); an epidemic with
 * fanout 6 misses e^-6 (0.25 %) of the members gossip missed, and
 * anti-entropy reaches the rest.
 */
const FORWARD_PEERS = 6

/** name -> "version/author" of what the puller holds */
export type CatalogDigest = Record<string, string>

/**
 * The service catalog as a replicated set: a last-writer-wins register per
 * name (see entry.ts), so a pull sends each name's version and author, and
 * receives the entries that outrank them.
 */
export function catalogSet (catalog: ServiceCatalog): ReplicatedSet<CatalogDigest> {
  /** the entry `e` as the digest says the peer holds it */
  const heldBy = (e: CatalogEntry, held: string): CatalogEntry => {
    const slash = held.indexOf('/')
    return { ...e, version: Number(held.slice(0, slash)), author: held.slice(slash + 1) }
  }
  return {
    digest: () => Object.fromEntries(catalog.all().map(e => [e.name, `${e.version}/${e.author}`])),
    missing: (theirs) => catalog.all().filter(e => theirs[e.name] == null || newer(e, heldBy(e, theirs[e.name]!))),
    behind: (theirs) => {
      const mine = new Map(catalog.all().map(e => [e.name, e]))
      return Object.entries(theirs).some(([name, held]) => { const e = mine.get(name); return e == null || newer(heldBy(e, held), e) })
    },
    // gossip carries a node's own writes: an entry claiming another author is forged
    verifyGossip: (entries, from) => {
      if (entries.map(parseEntry).some(e => e.author !== from.toString())) throw new Error('an entry gossiped by another than its author')
    },
    merge: async (entries, options) => await catalog.merge(entries, options)
  }
}

export interface CatalogReplicationInit {
  catalog: ServiceCatalog
  protocolPrefix: string
  syncIntervalMs: number
  log: Logger
}

/** The replicator that keeps the service catalog the same on every member. */
export function catalogReplication (components: ReplicatorComponents, init: CatalogReplicationInit): Replicator<CatalogDigest> {
  return new Replicator(components, {
    name: 'service catalog',
    topic: `${init.protocolPrefix}${CATALOG_TOPIC_SUFFIX}`.replace(/^\//, ''),
    protocol: `${init.protocolPrefix}${CATALOG_SYNC_PROTOCOL_SUFFIX}`,
    set: catalogSet(init.catalog),
    wire: {
      gossipField: 'entries',
      gossipVersion: true,
      maxGossipEntries: 100,
      maxGossipBytes: MAX_CATALOG_MESSAGE_BYTES,
      requestField: 'digest',
      digestSchema: z.record(z.string().max(63), z.string().max(200)),
      maxRequestBytes: MAX_CATALOG_MESSAGE_BYTES,
      responseField: 'entries',
      maxResponseEntries: 100_000,
      maxResponseBytes: MAX_CATALOG_SYNC_BYTES
    },
    log: init.log,
    syncIntervalMs: init.syncIntervalMs,
    pushPeers: PUSH_PEERS,
    forwardPeers: FORWARD_PEERS,
    pullOnConnect: 'until-caught-up'
  })
}
