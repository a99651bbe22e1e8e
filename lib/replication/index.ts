import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { z } from 'zod'

/**
 * A set of signed entries that every node holds a copy of (the service
 * catalog, the module catalog, revocations), as the replicator sees it. The
 * set owns the merge rule and the verification; the replicator only moves
 * entries between nodes. Merging must be order-free (a join-semilattice:
 * the same entries in any order give the same set), so that gossip, pulls
 * and pushes never race.
 */
export interface ReplicatedSet<Digest> {
  /** What this node holds, summarised: sent with a pull so the peer answers only what is missing. */
  digest: () => Digest
  /** The entries a peer holding `theirs` lacks or holds older. */
  missing: (theirs: Digest) => unknown[]
  /**
   * True when `theirs` holds something this node lacks or holds older: the
   * replicator then pulls it back at once (push-pull). Leave it out where
   * only pulls and gossip spread entries.
   */
  behind?: (theirs: Digest) => boolean
  /**
   * Checks a gossiped message's entries before gossipsub delivers or
   * forwards it (`from` signed the message); throw to reject it, which costs
   * the forwarding peer score.
   */
  verifyGossip?: (entries: unknown[], from: PeerId) => void | Promise<void>
  /** Takes entries from a peer, each verified by the set: the entries it applied, and how many it refused. */
  merge: (entries: unknown[], options: AbortOptions) => Promise<{ applied: readonly unknown[], rejected: number }>
}

/**
 * The wire shape of one replicated set: the field names and limits of its
 * gossip message, pull request and pull answer. Each set keeps the field
 * names it has always used, so nodes of older versions still understand it.
 */
export interface ReplicationWire<Digest> {
  /** the gossip message's entry array (`{ v: 1, entries }`, or `{ revocations }` without `v`) */
  gossipField: string
  /** whether gossip messages carry `v: 1` */
  gossipVersion: boolean
  maxGossipEntries: number
  maxGossipBytes: number
  /** the pull request's one field (`{ digest }`, `{ have }`) and its schema */
  requestField: string
  digestSchema: z.ZodType<Digest>
  maxRequestBytes: number
  /** the pull answer's entry array */
  responseField: string
  maxResponseEntries: number
  maxResponseBytes: number
}

export interface ReplicatorInit<Digest> {
  /** how logs name the set: 'service catalog', 'module catalog', 'revocation' */
  name: string
  /** gossipsub topic of the set's writes */
  topic: string
  /** the pull protocol */
  protocol: string
  set: ReplicatedSet<Digest>
  wire: ReplicationWire<Digest>
  log: Logger
  /** anti-entropy: a random connected peer is pulled from this often */
  syncIntervalMs: number
  /**
   * connected peers a local write asks to pull from this node (gossip reaches
   * only the topic's mesh, which a young mesh may not have formed). 0: none.
   * @default 0
   */
  pushPeers?: number
  /**
   * peers that entries learnt by a pull are pushed on to (see forward). 0: none.
   * @default 0
   */
  forwardPeers?: number
  /**
   * pull from every new connection (`always`), or only until the first pull
   * has succeeded (`until-caught-up`). @default 'until-caught-up'
   */
  pullOnConnect?: 'always' | 'until-caught-up'
  /** also pull from a peer when it subscribes to the topic. @default false */
  pullOnSubscribe?: boolean
  /** a pull's whole exchange, both sides. @default 10_000 */
  syncTimeoutMs?: number
}

export interface ReplicatorComponents {
  pubsub: GossipSub
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
}

export interface ReplicatorCounters {
  /** gossip messages the topic validator refused */
  gossipRejected: number
  /** pull requests that could not be read, and entries pulls brought that the set refused */
  syncRejected: number
  /** pulls that completed */
  pulls: number
}

export { Replicator } from './replicator.js'
