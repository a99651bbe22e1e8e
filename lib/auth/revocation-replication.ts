import type { Logger } from '@libp2p/interface'
import { z } from 'zod'
import { Replicator, type ReplicatedSet, type ReplicatorComponents } from '../replication/index.js'
import { MAX_REVOCATIONS } from './authority.js'
import type { Revocation } from './revocation.js'

/** Connected members a revoke is pushed to directly, besides gossip. */
const PUSH_PEERS = 16
/** A pull's answer: every revocation this node holds, at most. */
const MAX_SYNC_BYTES = 4 * 1024 * 1024

/** ids of the revocations the puller holds */
export type RevocationDigest = string[]

/** What the revocation set needs of the node: what it holds, and a way to take one (verified there). */
export interface RevocationHolder {
  revocations: () => Revocation[]
  /** true when the revocation was new here; throws when it is not a valid revocation */
  take: (value: unknown, options: { signal?: AbortSignal }) => Promise<boolean>
  /** a revocation that could not be taken, counted by the holder */
  rejected: () => void
}

/**
 * Revocations as a replicated set: a grow-only set keyed by token id, each
 * revocation signed by whoever may revoke (verified by the authority), so a
 * pull sends the ids it holds and receives the rest.
 */
export function revocationSet (holder: RevocationHolder): ReplicatedSet<RevocationDigest> {
  return {
    digest: () => holder.revocations().map(r => r.id),
    missing: (theirs) => {
      const held = new Set(theirs)
      return holder.revocations().filter(r => !held.has(r.id))
    },
    behind: (theirs) => {
      const known = new Set(holder.revocations().map(r => r.id))
      return theirs.some(id => !known.has(id))
    },
    merge: async (entries, options) => {
      const applied: unknown[] = []
      let rejected = 0
      for (const value of entries) {
        try {
          if (await holder.take(value, options)) applied.push(value)
        } catch {
          rejected++
          holder.rejected()
        }
      }
      return { applied, rejected }
    }
  }
}

export interface RevocationReplicationInit {
  holder: RevocationHolder
  protocolPrefix: string
  syncIntervalMs: number
  log: Logger
}

/** Spreads revocations: gossip on every revoke, push-pull with connected members, anti-entropy. */
export function revocationReplication (components: ReplicatorComponents, init: RevocationReplicationInit): Replicator<RevocationDigest> {
  return new Replicator(components, {
    name: 'revocation',
    topic: `${init.protocolPrefix}/auth/revocations/1`.replace(/^\//, ''),
    protocol: `${init.protocolPrefix}/auth/sync/1.0.0`,
    set: revocationSet(init.holder),
    wire: {
      gossipField: 'revocations',
      gossipVersion: false,
      maxGossipEntries: 64,
      maxGossipBytes: 64 * 1024,
      requestField: 'have',
      digestSchema: z.array(z.string().max(128)).max(MAX_REVOCATIONS),
      maxRequestBytes: MAX_SYNC_BYTES,
      responseField: 'revocations',
      maxResponseEntries: MAX_REVOCATIONS,
      maxResponseBytes: MAX_SYNC_BYTES
    },
    log: init.log,
    syncIntervalMs: init.syncIntervalMs,
    pushPeers: PUSH_PEERS,
    pullOnConnect: 'until-caught-up'
  })
}
