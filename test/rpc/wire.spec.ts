import { expect } from 'chai'
import { frame } from '../../lib/frames.js'
import { Request, Response } from '../../lib/rpc/pb/rpc.js'
import { requestFrame, responseFrame } from '../../lib/rpc/wire.js'

/** A deterministic generator, so a failure names its case. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 0x100000000 }
}

const STRINGS = ['', 'echo', 'x', 'svc-ü-名前', 'a'.repeat(200), '😀 emoji', 'f'.repeat(127), 'g'.repeat(128)]
const NUMBERS = [0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456, 0xffffffff]
const SIZES = [0, 1, 127, 128, 256, 4095, 4096, 16383, 16384, 70_000]

describe('rpc wire frames (written in one buffer, byte for byte the generated encoder\'s)', () => {
  it('encodes every Request as frame(Request.encode(...)) does, and it decodes back', () => {
    const r = rng(1)
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
    for (let i = 0; i < 400; i++) {
      const req: Request = {
        id: pick(NUMBERS),
        service: pick(STRINGS),
        fn: pick(STRINGS),
        timeoutMs: pick(NUMBERS),
        idempotent: r() < 0.5,
        payload: new Uint8Array(pick(SIZES)).map((_, j) => (j * 31 + i) & 0xff),
        cancel: r() < 0.1
      }
      const ours = requestFrame(req)
      const reference = frame(Request.encode(req)).subarray()
      expect(Buffer.from(ours).equals(Buffer.from(reference)), `case ${i}: ${JSON.stringify({ ...req, payload: req.payload.byteLength })}`).to.equal(true)
      // the message after its length prefix decodes to the same request
      const message = ours.subarray(ours.byteLength - Request.encode(req).byteLength)
      expect(Request.decode(message)).to.deep.equal(Request.decode(Request.encode(req)))
    }
  })

  it('encodes every Response, with and without an error (empty names included), as the generated encoder does', () => {
    const r = rng(2)
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
    for (let i = 0; i < 400; i++) {
      const withError = r() < 0.5
      const res: Response = {
        id: pick(NUMBERS),
        ...(withError ? { error: { name: pick(STRINGS), message: pick(STRINGS) } } : {}),
        payload: new Uint8Array(withError ? 0 : pick(SIZES)).fill(i & 0xff)
      }
      const ours = responseFrame(res)
      const reference = frame(Response.encode(res)).subarray()
      expect(Buffer.from(ours).equals(Buffer.from(reference)), `case ${i}`).to.equal(true)
    }
  })
})
