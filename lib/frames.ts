import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import { FrameDecoder } from './frame-decoder.js'

/** One frame: unsigned varint length, then the message bytes. */
export function frame (bytes: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}

/**
 * Feed a stream's bytes through a length-prefixed decoder that refuses a
 * frame longer than `maxFrameBytes` as soon as its length prefix has
 * arrived, before buffering it. A refused frame, or one `onFrame` throws on,
 * aborts the stream (`onBad` is told first): the peer is misbehaving, and
 * the stream is all it loses. The buffer may hold a frame that is nearly
 * whole plus the next transport chunk, which carries the next frames.
 */
export function onFrames (stream: Stream, maxFrameBytes: number, onFrame: (bytes: Uint8Array) => void, onBad: (err: Error) => void): void {
  const decoder = new FrameDecoder(maxFrameBytes)
  stream.addEventListener('message', (evt: StreamMessageEvent) => {
    try {
      decoder.decode(evt.data, onFrame)
    } catch (err: any) {
      onBad(err)
      stream.abort(err)
    }
  })
}

/**
 * Sends frames on a stream in order, coalesced and respecting backpressure.
 *
 * Frames sent in the same turn of the event loop go to the stream together,
 * as one write, at the end of that turn (setImmediate): below the stream,
 * every write is its own yamux frame, Noise message and socket write, and
 * those dominated the cost of a small call (docs/design.md, "Design choices and why",
 * "RPC hot path"). Waiting for the end of the turn costs a call no time it
 * would not otherwise have spent: the turn was busy with other work.
 *
 * Once `send` on the stream reports a full buffer, later frames wait here
 * until the stream drains instead of growing the stream's buffer without
 * bound.
 */
export class FrameSender {
  private readonly stream: Stream
  private pending = new Uint8ArrayList()
  private scheduled = false
  private waiting = false
  private flushWaiters: Array<() => void> = []

  constructor (stream: Stream) {
    this.stream = stream
  }

  send (data: Uint8Array | Uint8ArrayList): void {
    this.pending.append(data)
    if (this.scheduled || this.waiting) return
    this.scheduled = true
    setImmediate(() => { this.scheduled = false; this.flush() })
  }

  /** Resolves once every frame sent so far has been handed to the stream (or the stream ended). */
  async flushed (): Promise<void> {
    if (this.pending.byteLength === 0 && !this.waiting) return
    await new Promise<void>(resolve => { this.flushWaiters.push(resolve) })
  }

  private flush (): void {
    if (this.waiting) return
    if (this.pending.byteLength > 0) {
      const data = this.pending
      this.pending = new Uint8ArrayList()
      try {
        if (!this.stream.send(data)) {
          this.wait()
          return
        }
      } catch {
        // the stream is closing or closed: whoever waits for these frames hears it from the stream
      }
    }
    this.release()
  }

  private wait (): void {
    this.waiting = true
    this.stream.onDrain().then(() => {
      this.waiting = false
      this.flush()
    }, () => {
      // the stream closed or aborted: whoever waits for these frames hears it from the stream
      this.pending = new Uint8ArrayList()
      this.waiting = false
      this.release()
    })
  }

  private release (): void {
    const waiters = this.flushWaiters
    this.flushWaiters = []
    waiters.forEach(w => { w() })
  }
}
