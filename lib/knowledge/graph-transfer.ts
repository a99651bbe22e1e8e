import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { GraphUnavailableError, MalformedMessageError } from '../interface/errors.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { graphHash } from './canonical.js'

/** A graph's content travels in chunks of this many bytes. */
export const GRAPH_CHUNK_BYTES = 1024 * 1024
/** The largest graph content served or taken (canonical N-Triples). */
export const MAX_GRAPH_BYTES = 512 * 1024 * 1024

const requestSchema = z.strictObject({ graph: z.string().min(1).max(512), hash: z.string().regex(/^[0-9a-f]{64}$/) })
const headerSchema = z.union([
  z.strictObject({ bytes: z.number().int().min(0).max(MAX_GRAPH_BYTES) }),
  z.strictObject({ error: z.enum(['not-held']) })
])

/**
 * The answer side of `<prefix>/knowledge/graph/1.0.0`: a request names a
 * graph and the hash of the version wanted; a daemon holding exactly that
 * version (its owner, a replica) answers `{ bytes }` and the canonical
 * N-Triples in length-prefixed chunks, any other `{ error: 'not-held' }`.
 */
export async function serveGraph (stream: Stream, connection: Connection, content: (graph: string, hash: string) => string | undefined, signal: AbortSignal): Promise<{ graph: string, bytes: number } | undefined> {
  try {
    const lp = lpStream(stream, { maxDataLength: GRAPH_CHUNK_BYTES + 1024 })
    const req = decodeJson(requestSchema, (await lp.read({ signal })).subarray())
    const text = content(req.graph, req.hash)
    if (text == null) {
      await lp.write(encodeJson({ error: 'not-held' }), { signal })
      await stream.close({ signal })
      return undefined
    }
    const bytes = Buffer.from(text, 'utf8')
    await lp.write(encodeJson({ bytes: bytes.byteLength }), { signal })
    for (let at = 0; at < bytes.byteLength; at += GRAPH_CHUNK_BYTES) {
      await lp.write(bytes.subarray(at, at + GRAPH_CHUNK_BYTES), { signal })
    }
    await stream.close({ signal })
    return { graph: req.graph, bytes: bytes.byteLength }
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/**
 * Fetch version `hash` of `graph` from `peer`: its canonical N-Triples,
 * checked against the hash (bytes that do not match are a
 * MalformedMessageError: the peer served something else).
 */
export async function fetchGraph (connectionManager: ConnectionManager, peer: PeerId, protocol: string, graph: string, hash: string, options: { signal: AbortSignal }): Promise<string> {
  const { signal } = options
  let stream: Stream | undefined
  try {
    stream = await connectionManager.openStream(peer, protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: GRAPH_CHUNK_BYTES + 1024 })
    await lp.write(encodeJson({ graph, hash }), { signal })
    const header = decodeJson(headerSchema, (await lp.read({ signal })).subarray())
    if ('error' in header) throw new GraphUnavailableError(`${peer.toString()} does not hold ${graph} at ${hash.slice(0, 12)}`)
    const out = Buffer.allocUnsafe(header.bytes)
    let at = 0
    while (at < header.bytes) {
      const chunk = await lp.read({ signal })
      if (at + chunk.byteLength > header.bytes) throw new MalformedMessageError(`${peer.toString()} sent more of ${graph} than the ${header.bytes} bytes it announced`)
      for (const part of chunk) {
        out.set(part, at)
        at += part.byteLength
      }
    }
    await stream.close({ signal })
    const text = out.toString('utf8')
    if (graphHash(text) !== hash) throw new MalformedMessageError(`${peer.toString()} served ${graph} with content that does not match its signed hash`)
    return text
  } catch (err: any) {
    stream?.abort(err)
    throw err
  }
}
