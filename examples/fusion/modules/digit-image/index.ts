// digit-image: a handwritten digit classifier for the fusion engine's processor contract
// (docs/fusion.md). Input: a binary PGM (P5) of 8x8 pixels, as scikit-learn's digits set holds
// them (0-16 ink); output: {"scores": [p0..p9]}, a multinomial logistic regression over the 64
// pixels scaled to [0, 1]. weights.ts is written by the fusion benchmark's trainer
// (test/bench/fusion/train.ts): W is 10 x 64, row-major, then B.
import { Host } from '@extism/as-pdk'
import { W, B } from './weights'
import { softmaxScores } from '../softmax-scores'

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

const SIDE = 8

function isSpace (c: u8): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09
}

/** The pixels of a P5 PGM as ink in [0, 1], or null when it is not an 8x8 P5 PGM. */
function pixels (data: Uint8Array): Float64Array | null {
  if (data.length < 2 || data[0] != 0x50 || data[1] != 0x35) return null
  let at = 2
  const fields = new Array<i32>(3)
  for (let f = 0; f < 3; f++) {
    while (at < data.length && (isSpace(data[at]) || data[at] == 0x23)) {
      // a comment runs to the end of its line
      if (data[at] == 0x23) { while (at < data.length && data[at] != 0x0a) at++ } else at++
    }
    let v = 0
    let digits = 0
    while (at < data.length && data[at] >= 0x30 && data[at] <= 0x39 && digits < 6) { v = v * 10 + (data[at] - 0x30); at++; digits++ }
    if (digits == 0) return null
    fields[f] = v
  }
  // exactly one whitespace byte before the raster
  if (at >= data.length || !isSpace(data[at])) return null
  at++
  const maxval = fields[2]
  if (fields[0] != SIDE || fields[1] != SIDE || maxval < 1 || maxval > 255 || data.length - at != SIDE * SIDE) return null
  const x = new Float64Array(SIDE * SIDE)
  for (let i = 0; i < SIDE * SIDE; i++) x[i] = <f64>data[at + i] / <f64>maxval
  return x
}

export function classify (): i32 {
  const x = pixels(Host.input())
  if (x == null) {
    Host.outputString('{"error":{"name":"InvalidImageError","message":"expected a binary PGM (P5) of 8x8 pixels"}}')
    return 0
  }
  Host.outputString(softmaxScores(W, B, x))
  return 0
}

export function health (): i32 {
  Host.outputString('ok')
  return 0
}
