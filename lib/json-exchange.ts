import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'
import type { z } from 'zod'
import { decodeJson, encodeJson } from './json-codec.js'
import { randomSample } from './random-sample.js'

/**
 * One length-prefixed JSON request and one JSON answer on a new stream to
 * `peer`, the answer checked against `schema` (the catalog, module catalog
 * and revocation pulls). The stream is aborted on any failure, which is
 * thrown for the caller to log and count.
 */
export async function requestJson<T> (connectionManager: ConnectionManager, peer: PeerId, protocol: string, request: unknown, schema: z.ZodType<T>, options: { maxBytes: number, signal: AbortSignal }): Promise<T> {
  const { signal } = options
  let stream: Stream | undefined
  try {
    stream = await connectionManager.openStream(peer, protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: options.maxBytes })
    await lp.write(encodeJson(request), { signal })
    const answer = decodeJson(schema, (await lp.read({ signal })).subarray())
    await stream.close({ signal })
    return answer
  } catch (err: any) {
    stream?.abort(err)
    throw err
  }
}

/**
 * Up to `max` distinct connected peers at random, without `except`: whom a
 * push-pull write asks to pull (the first connections are mostly the
 * bootstrap peers and the earliest neighbours, the same for every node).
 */
export function connectedPeerSample (connectionManager: ConnectionManager, max: number, except?: string): PeerId[] {
  const peers = new Map(connectionManager.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))
  if (except != null) peers.delete(except)
  return randomSample(peers.values(), max)
}

/** A connected peer picked at random (anti-entropy's partner), if there is one. */
export function randomConnectedPeer (connectionManager: ConnectionManager): PeerId | undefined {
  const peers = connectionManager.getConnections().map(c => c.remotePeer)
  return peers[Math.floor(Math.random() * peers.length)]
}
