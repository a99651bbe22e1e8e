import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'

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
  const decoder = new LengthPrefixedDecoder({ maxDataLength: maxFrameBytes, maxBufferSize: 2 * maxFrameBytes + 64 * 1024 })
  stream.addEventListener('message', (evt: StreamMessageEvent) => {
    try {
      for (const buf of decoder.decode(evt.data)) onFrame(buf.subarray())
    } catch (err: any) {
      onBad(err)
      stream.abort(err)
    }
  })
}

/**
 * Sends frames on a stream in order, respecting backpressure: once `send`
 * reports a full buffer, later frames wait in this queue until the stream
 * drains instead of growing the stream's buffer without bound.
 */
export class FrameSender {
  private readonly stream: Stream
  private readonly queue: Uint8ArrayList[] = []
  private waiting = false

  constructor (stream: Stream) {
    this.stream = stream
  }

  private flushWaiters: Array<() => void> = []

  send (data: Uint8ArrayList): void {
    if (this.waiting) {
      this.queue.push(data)
      return
    }
    if (!this.stream.send(data)) this.wait()
  }

  /** Resolves once every frame sent so far has been handed to the stream (or the stream ended). */
  async flushed (): Promise<void> {
    if (!this.waiting) return
    await new Promise<void>(resolve => { this.flushWaiters.push(resolve) })
  }

  private wait (): void {
    this.waiting = true
    this.stream.onDrain().then(() => {
      this.waiting = false
      while (this.queue.length > 0 && !this.waiting) {
        if (!this.stream.send(this.queue.shift()!)) this.wait()
      }
      if (!this.waiting) this.release()
    }, () => {
      // the stream closed or aborted: whoever waits for these frames hears it from the stream
      this.queue.length = 0
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
