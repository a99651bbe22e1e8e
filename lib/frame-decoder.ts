import type { Uint8ArrayList } from 'uint8arraylist'
import { MalformedMessageError, PayloadTooLargeError } from './interface/errors.js'

/** A varint longer than this many bits is not a length any frame has (2^49 bytes). */
const MAX_LENGTH_BITS = 49

/**
 * Splits a byte stream into frames, each an unsigned varint length and that
 * many bytes, handing each frame's bytes on as a view of the chunk it came
 * in. Frames of zero length are passed over.
 *
 * Not @libp2p/utils' LengthPrefixedDecoder, which appends every chunk to a
 * Uint8ArrayList and yields each frame as a sublist (a list object, its
 * array of views, a view, and a generator step per frame): on the RPC hot
 * path that was a fifth of everything a caller allocated per call, and a
 * call's garbage is what young-generation collections, and so the tail
 * latency, pay for (docs/design.md, "RPC hot path"). Here a chunk holding
 * whole frames, the common case, allocates one view per frame; only a frame
 * split across chunks is joined, once, when its last byte has arrived.
 *
 * A length over `maxFrameBytes` is refused as soon as its prefix has
 * arrived, before the frame is buffered (PayloadTooLargeError); a prefix
 * that is not a varint, MalformedMessageError. After either the stream is
 * not to be read further.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number
  /** the start of a frame split across chunks, as the chunks came */
  private parts: Uint8Array[] = []
  private partsBytes = 0
  /** the bytes that frame needs in all, prefix included, once its prefix is whole; 0 before */
  private need = 0

  constructor (maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Bytes held of a frame not yet whole. */
  get buffered (): number {
    return this.partsBytes
  }

  decode (data: Uint8Array | Uint8ArrayList, onFrame: (bytes: Uint8Array) => void): void {
    if (data instanceof Uint8Array) {
      this.chunk(data, onFrame)
      return
    }
    for (const buf of data) this.chunk(buf, onFrame)
  }

  private chunk (buf: Uint8Array, onFrame: (bytes: Uint8Array) => void): void {
    if (buf.byteLength === 0) return
    if (this.partsBytes > 0) {
      this.parts.push(buf)
      this.partsBytes += buf.byteLength
      // a body still short of its length waits for more; a prefix still arriving is a few bytes
      if (this.need > 0 && this.partsBytes < this.need) return
      buf = this.joinParts()
    }
    let at = 0
    while (at < buf.byteLength) {
      let length = 0
      let shift = 0
      let p = at
      let whole = false
      while (p < buf.byteLength) {
        const b = buf[p++]!
        length += (b & 0x7f) * 2 ** shift
        if (b < 0x80) { whole = true; break }
        shift += 7
        if (shift >= MAX_LENGTH_BITS) throw new MalformedMessageError('frame length prefix is not a varint')
      }
      if (!whole) {
        this.keep(buf, at, 0)
        return
      }
      if (length > this.maxFrameBytes) throw new PayloadTooLargeError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes} byte limit`)
      const end = p + length
      if (end > buf.byteLength) {
        this.keep(buf, at, end - at)
        return
      }
      if (length > 0) onFrame(buf.subarray(p, end))
      at = end
    }
  }

  /** Hold the start of a frame (from `at`) until the rest arrives. */
  private keep (buf: Uint8Array, at: number, need: number): void {
    const rest = at === 0 ? buf : buf.subarray(at)
    this.parts = [rest]
    this.partsBytes = rest.byteLength
    this.need = need
  }

  private joinParts (): Uint8Array {
    const joined = new Uint8Array(this.partsBytes)
    let at = 0
    for (const part of this.parts) {
      joined.set(part, at)
      at += part.byteLength
    }
    this.parts = []
    this.partsBytes = 0
    this.need = 0
    return joined
  }
}
