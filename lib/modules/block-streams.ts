import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { pushable, type Pushable } from 'it-pushable'
import { onFrames } from '../frames.js'
import { MAX_RESPONSE_BYTES } from './block-protocol.js'
import { timeoutSignal } from '../signals.js'

/** An idle block stream is closed after this long (the server closes its side after 60 s). */
export const IDLE_STREAM_MS = 30_000
const OPEN_TIMEOUT_MS = 10_000

/** A stream to a provider with its response frames, in order. */
export interface BlockStream {
  peerId: string
  stream: Stream
  responses: Pushable<Uint8Array>
  /** the stream has ended (closed, reset, or the provider stopped sending) */
  ended: boolean
}

/**
 * Block streams to providers, kept open between fetches: opening a stream
 * costs a few milliseconds on libp2p v3 (the muxer, and a peer store write
 * per stream), as much as moving 100 KB, and a deploy fetches several
 * modules from the same peers in a row. At most one idle stream per peer.
 */
export class BlockStreams {
  private readonly connectionManager: ConnectionManager
  private readonly protocol: string
  private readonly idle = new Map<string, { bs: BlockStream, timer: ReturnType<typeof setTimeout> }>()

  constructor (connectionManager: ConnectionManager, protocol: string) {
    this.connectionManager = connectionManager
    this.protocol = protocol
  }

  /** An idle stream to `peer`, or a new one. */
  async take (peer: PeerId, signal: AbortSignal): Promise<BlockStream> {
    const peerId = peer.toString()
    const held = this.idle.get(peerId)
    if (held != null) {
      this.idle.delete(peerId)
      clearTimeout(held.timer)
      if (!held.bs.ended && held.bs.stream.writeStatus === 'writable') return held.bs
      held.bs.stream.abort(new Error('stale block stream'))
    }
    const stream = await this.connectionManager.openStream(peer, this.protocol, {
      signal: AbortSignal.any([signal, timeoutSignal(OPEN_TIMEOUT_MS)]),
      // the protocol id goes out with the first request: one round trip fewer
      negotiateFully: false
    })
    const bs: BlockStream = { peerId, stream, responses: pushable<Uint8Array>({ objectMode: true }), ended: false }
    const end = (err: Error): void => {
      bs.ended = true
      bs.responses.end(err)
    }
    onFrames(stream, MAX_RESPONSE_BYTES, (bytes) => { bs.responses.push(bytes) }, end)
    stream.addEventListener('close', (evt) => { end(evt.error ?? new Error('provider closed the stream')) }, { once: true })
    stream.addEventListener('remoteCloseWrite', () => { end(new Error('provider closed the stream')) }, { once: true })
    return bs
  }

  /** Keep a stream with nothing in flight for the next fetch from its peer. */
  give (bs: BlockStream): void {
    if (bs.ended || this.idle.has(bs.peerId)) {
      void bs.stream.close().catch(() => {})
      return
    }
    const timer = setTimeout(() => {
      this.idle.delete(bs.peerId)
      void bs.stream.close().catch(() => {})
    }, IDLE_STREAM_MS)
    timer.unref?.()
    this.idle.set(bs.peerId, { bs, timer })
  }

  /** Close every idle stream (the node is stopping). */
  clear (): void {
    for (const { bs, timer } of this.idle.values()) {
      clearTimeout(timer)
      bs.stream.abort(new Error('stopping'))
    }
    this.idle.clear()
  }
}
