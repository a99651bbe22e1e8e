import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import { FRAME_OVERHEAD_BYTES } from './constants.js'

/** One frame: unsigned varint length, then the message bytes. */
export function frame (bytes: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}

/**
 * Feed a stream's bytes through a length-prefixed decoder that refuses a
 * frame longer than the payload limit (plus headers) as soon as its length
 * prefix has arrived, before buffering it. A refused or undecodable frame
 * aborts the stream (`onBad` is told first): the peer is misbehaving, and
 * the stream is all it loses.
 */
export function onFrames (stream: Stream, maxPayloadBytes: number, onFrame: (bytes: Uint8Array) => void, onBad: (err: Error) => void): void {
  const max = maxPayloadBytes + FRAME_OVERHEAD_BYTES
  const decoder = new LengthPrefixedDecoder({ maxDataLength: max, maxBufferSize: max + 16 })
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

  /** Frames waiting for the stream to drain. */
  get queued (): number {
    return this.queue.length
  }

  send (data: Uint8ArrayList): void {
    if (this.waiting) {
      this.queue.push(data)
      return
    }
    if (!this.stream.send(data)) this.wait()
  }

  private wait (): void {
    this.waiting = true
    this.stream.onDrain().then(() => {
      this.waiting = false
      while (this.queue.length > 0 && !this.waiting) {
        if (!this.stream.send(this.queue.shift()!)) this.wait()
      }
    }, () => {
      // the stream closed or aborted: whoever waits for these frames hears it from the stream
      this.queue.length = 0
      this.waiting = false
    })
  }
}
