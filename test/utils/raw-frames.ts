import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Stream } from '@libp2p/interface'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** One length-prefixed JSON frame, as the probe and member-list protocols write them. */
export function frame (json: unknown): Uint8ArrayList {
  const bytes = encoder.encode(JSON.stringify(json))
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}

/** Every length-prefixed JSON frame a raw stream answers, decoded, as they arrive. */
export function answers (stream: Stream): any[] {
  const got: any[] = []
  const frames = new LengthPrefixedDecoder()
  stream.addEventListener('message', (evt) => {
    for (const buf of frames.decode(evt.data)) got.push(JSON.parse(decoder.decode(buf.subarray())))
  })
  return got
}
