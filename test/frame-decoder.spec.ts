import { LengthPrefixedDecoder } from '@libp2p/utils'
import { expect } from 'chai'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { FrameDecoder } from '../lib/frame-decoder.js'
import { MalformedMessageError, PayloadTooLargeError } from '../lib/interface/errors.js'

/** A deterministic generator, so a failure names its case. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 0x100000000 }
}

const SIZES = [0, 1, 2, 127, 128, 300, 16383, 16384, 70_000, 300_000]

function stream (r: () => number, frames: number): { bytes: Uint8Array, bodies: Uint8Array[] } {
  const bodies: Uint8Array[] = []
  const parts: Uint8Array[] = []
  for (let i = 0; i < frames; i++) {
    const body = new Uint8Array(SIZES[Math.floor(r() * SIZES.length)]!).map((_, j) => (j * 7 + i) & 0xff)
    bodies.push(body)
    parts.push(varint.encode(body.byteLength), body)
  }
  return { bytes: new Uint8ArrayList(...parts).subarray(), bodies }
}

/** Cut `bytes` at random points: 1-byte pieces, pieces inside a prefix, pieces holding many frames. */
function chunks (r: () => number, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  while (at < bytes.byteLength) {
    const kind = r()
    const n = kind < 0.3 ? 1 + Math.floor(r() * 3) : kind < 0.7 ? 1 + Math.floor(r() * 2000) : 1 + Math.floor(r() * 200_000)
    out.push(bytes.subarray(at, at + n))
    at += n
  }
  return out
}

describe('FrameDecoder (varint length-prefixed frames, split anyhow across chunks)', () => {
  it('yields what @libp2p/utils\' LengthPrefixedDecoder yields, frame for frame, however the stream is cut', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed)
      const { bytes, bodies } = stream(r, 1 + Math.floor(r() * 40))
      const ours: Uint8Array[] = []
      const theirs: Uint8Array[] = []
      const decoder = new FrameDecoder(1024 * 1024)
      const reference = new LengthPrefixedDecoder({ maxDataLength: 1024 * 1024, maxBufferSize: 64 * 1024 * 1024 })
      const cut = chunks(r, bytes)
      for (const [i, chunk] of cut.entries()) {
        // sometimes as a list of several chunks, as a stream's message event may carry
        const data = i % 5 === 4 ? new Uint8ArrayList(chunk.subarray(0, 1), chunk.subarray(1)) : chunk
        decoder.decode(data, (b) => { ours.push(b.slice()) })
        for (const b of reference.decode(chunk)) theirs.push(b.subarray().slice())
      }
      expect(ours, `seed ${seed}`).to.deep.equal(theirs)
      // zero-length frames are passed over, as the reference does
      expect(ours, `seed ${seed}`).to.deep.equal(bodies.filter(b => b.byteLength > 0))
      expect(decoder.buffered, `seed ${seed}`).to.equal(0)
    }
  })

  it('hands on views of the chunk, not copies, when a chunk holds whole frames', () => {
    const chunk = new Uint8ArrayList(varint.encode(3), Uint8Array.of(1, 2, 3), varint.encode(2), Uint8Array.of(4, 5)).subarray()
    const got: Uint8Array[] = []
    new FrameDecoder(100).decode(chunk, (b) => { got.push(b) })
    expect(got.map(b => [...b])).to.deep.equal([[1, 2, 3], [4, 5]])
    for (const b of got) expect(b.buffer).to.equal(chunk.buffer)
  })

  it('refuses a frame over the limit on its length prefix, before its body arrives', () => {
    const decoder = new FrameDecoder(1000)
    expect(() => { decoder.decode(varint.encode(1001), () => {}) }).to.throw(PayloadTooLargeError, /1001 bytes exceeds the 1000 byte limit/)
    // split prefix too
    const split = new FrameDecoder(1000)
    const prefix = varint.encode(5_000_000)
    split.decode(prefix.subarray(0, 1), () => {})
    expect(() => { split.decode(prefix.subarray(1), () => {}) }).to.throw(PayloadTooLargeError)
  })

  it('refuses a length prefix that is not a varint', () => {
    expect(() => { new FrameDecoder(1000).decode(new Uint8Array(12).fill(0xff), () => {}) }).to.throw(MalformedMessageError)
  })

  it('joins a large frame once, when its last chunk arrives', () => {
    const body = new Uint8Array(1_000_000).map((_, i) => i & 0xff)
    const bytes = new Uint8ArrayList(varint.encode(body.byteLength), body, varint.encode(1), Uint8Array.of(9)).subarray()
    const decoder = new FrameDecoder(2_000_000)
    const got: Uint8Array[] = []
    for (let at = 0; at < bytes.byteLength; at += 65_536) {
      decoder.decode(bytes.subarray(at, at + 65_536), (b) => { got.push(b) })
      if (at + 65_536 < body.byteLength) expect(got).to.have.length(0)
    }
    expect(got).to.have.length(2)
    expect(got[0]).to.deep.equal(body)
    expect([...got[1]!]).to.deep.equal([9])
  })
})
