import type { Connection, Stream, StreamHandler } from '@libp2p/interface'
import { RateLimiter } from '@libp2p/utils'

/**
 * Per-peer limits on inbound streams, one token bucket per peer and
 * protocol (`@libp2p/utils`' RateLimiter, a port of rate-limiter-flexible).
 * libp2p's `maxInboundStreams` caps streams open at once on a connection;
 * this caps how fast one peer may open them, so a peer that opens and
 * drops streams in a loop costs each node a bounded amount of work. A
 * stream over the limit is reset before anything is read from it.
 */
export interface InboundLimit {
  /** streams a peer may open per `perSeconds` */
  streams: number
  perSeconds: number
}

/** Streams refused per protocol since start (the daemon's metrics read it). */
export const limited = new Map<string, number>()

export const INBOUND_LIMITS = {
  /** pings, indirect pings and leaves: a member probes another about once a second */
  probe: { streams: 60, perSeconds: 1 },
  /** member-list, catalog, module catalog and revocation pulls: one per change or per 30 s */
  sync: { streams: 20, perSeconds: 1 },
  /** block requests are pipelined on a few streams */
  blocks: { streams: 40, perSeconds: 1 },
  /** runtime status asks: one per rollout step */
  status: { streams: 40, perSeconds: 1 }
} satisfies Record<string, InboundLimit>

export function limitInbound (protocol: string, limit: InboundLimit, handler: StreamHandler): StreamHandler {
  const limiter = new RateLimiter({ points: limit.streams, duration: limit.perSeconds })
  return (stream: Stream, connection: Connection) => {
    try {
      limiter.consume(connection.remotePeer.toString())
    } catch {
      limited.set(protocol, (limited.get(protocol) ?? 0) + 1)
      stream.abort(new Error(`more than ${limit.streams} ${protocol} streams in ${limit.perSeconds} s from this peer`))
      return
    }
    return handler(stream, connection)
  }
}
