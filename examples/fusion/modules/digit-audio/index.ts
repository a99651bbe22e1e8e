// digit-audio: a spoken digit classifier for the fusion engine's processor contract
// (docs/fusion.md). Input: a WAV file, 8 kHz 16-bit PCM mono, at most 1 s used (shorter is padded
// with silence). Features: a log-mel spectrogram (25 ms Hamming frames every 20 ms, 256-point FFT,
// 20 triangular mel bands over 60-3800 Hz), averaged over 6 equal stretches of time, less the
// clip's mean log energy (so loudness does not count): 120 numbers. Output: {"scores": [p0..p9]}
// from a multinomial logistic regression on the standardised features. `features` answers the
// 120 numbers (little-endian f64), which is what the trainer fits on (test/bench/fusion/train.ts
// writes weights.ts: MU and SD, then W, 10 x 120 row-major, then B), so training and serving
// share one implementation.
import { Host } from '@extism/as-pdk'
import { MU, SD, W, B } from './weights'
import { softmaxScores } from '../softmax-scores'

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

const RATE = 8000
const SAMPLES = 8000
const FRAME = 200
const HOP = 160
const NFFT = 256
const BANDS = 20
const SEGMENTS = 6
const FEATURES = BANDS * SEGMENTS

function u16 (d: Uint8Array, at: i32): i32 { return <i32>d[at] | (<i32>d[at + 1] << 8) }
function u32le (d: Uint8Array, at: i32): i32 { return u16(d, at) | (u16(d, at + 2) << 16) }

/** The samples of a PCM WAV (8 kHz, 16-bit, mono) in [-1, 1], padded or cut to 1 s; null with `why` set otherwise. */
let why = ''
function samples (d: Uint8Array): Float64Array | null {
  if (d.length < 44 || d[0] != 0x52 || d[1] != 0x49 || d[2] != 0x46 || d[3] != 0x46 || d[8] != 0x57 || d[9] != 0x41 || d[10] != 0x56 || d[11] != 0x45) { why = 'not a RIFF WAVE file'; return null }
  let at = 12
  let fmtOk = false
  while (at + 8 <= d.length) {
    const id0 = d[at]; const id1 = d[at + 1]; const id2 = d[at + 2]; const id3 = d[at + 3]
    const size = u32le(d, at + 4)
    const body = at + 8
    if (size < 0 || body + size > d.length + 1) { why = 'truncated chunk'; return null }
    if (id0 == 0x66 && id1 == 0x6d && id2 == 0x74 && id3 == 0x20) {
      if (size < 16) { why = 'short fmt chunk'; return null }
      const format = u16(d, body)
      const channels = u16(d, body + 2)
      const rate = u32le(d, body + 4)
      const bits = u16(d, body + 14)
      if (format != 1 || channels != 1 || rate != RATE || bits != 16) { why = 'expected PCM, mono, 8000 Hz, 16-bit'; return null }
      fmtOk = true
    } else if (id0 == 0x64 && id1 == 0x61 && id2 == 0x74 && id3 == 0x61) {
      if (!fmtOk) { why = 'data before fmt'; return null }
      const n = min(size, d.length - body) / 2
      const x = new Float64Array(SAMPLES)
      for (let i = 0; i < min(n, SAMPLES); i++) {
        let v = u16(d, body + 2 * i)
        if (v >= 0x8000) v -= 0x10000
        x[i] = <f64>v / 32768.0
      }
      return x
    }
    at = body + size + (size & 1)
  }
  why = 'no data chunk'
  return null
}

// Tables made once per instance: the window, the FFT's twiddle factors, and each mel band's bins
// and weights (a call then does no trigonometry: Math.cos in AssemblyScript is computed in
// software, and per sample it was most of a 5 ms call).
const WINDOW = new Float64Array(FRAME)
const COS = new Float64Array(NFFT / 2)
const SIN = new Float64Array(NFFT / 2)
const BAND_FROM = new Int32Array(BANDS)
const BAND_WEIGHTS = new Array<Float64Array>(BANDS)
let tablesMade = false

function mel (hz: f64): f64 { return 2595.0 * Math.log10(1.0 + hz / 700.0) }
function hz (m: f64): f64 { return 700.0 * (Math.pow(10.0, m / 2595.0) - 1.0) }

function makeTables (): void {
  for (let i = 0; i < FRAME; i++) WINDOW[i] = 0.54 - 0.46 * Math.cos(2.0 * Math.PI * <f64>i / <f64>(FRAME - 1))
  for (let i = 0; i < NFFT / 2; i++) {
    COS[i] = Math.cos(-2.0 * Math.PI * <f64>i / <f64>NFFT)
    SIN[i] = Math.sin(-2.0 * Math.PI * <f64>i / <f64>NFFT)
  }
  // triangular bands between mel-spaced edges, in FFT bins
  const edges = new Float64Array(BANDS + 2)
  const lo = mel(60.0); const hi = mel(3800.0)
  for (let b = 0; b < BANDS + 2; b++) edges[b] = hz(lo + (hi - lo) * <f64>b / <f64>(BANDS + 1)) * <f64>NFFT / <f64>RATE
  for (let b = 0; b < BANDS; b++) {
    const from = <i32>Math.floor(edges[b]) + 1
    const to = min(<i32>Math.ceil(edges[b + 2]), NFFT / 2 + 1)
    const w = new Float64Array(max(0, to - from))
    for (let k = from; k < to; k++) {
      const kf = <f64>k
      let v = 0.0
      if (kf > edges[b] && kf <= edges[b + 1]) v = (kf - edges[b]) / (edges[b + 1] - edges[b])
      else if (kf > edges[b + 1] && kf < edges[b + 2]) v = (edges[b + 2] - kf) / (edges[b + 2] - edges[b + 1])
      w[k - from] = v
    }
    BAND_FROM[b] = from
    BAND_WEIGHTS[b] = w
  }
  tablesMade = true
}

/** In-place radix-2 FFT of (re, im), NFFT points, with the tables' twiddle factors. */
function fft (re: Float64Array, im: Float64Array): void {
  const n = NFFT
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      const tr = unchecked(re[i]); unchecked(re[i] = unchecked(re[j])); unchecked(re[j] = tr)
      const ti = unchecked(im[i]); unchecked(im[i] = unchecked(im[j])); unchecked(im[j] = ti)
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1
    const step = n / len
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const cr = unchecked(COS[k * step]); const ci = unchecked(SIN[k * step])
        const a = i + k
        const b = a + half
        const rb = unchecked(re[b]); const ib = unchecked(im[b])
        const ar = rb * cr - ib * ci
        const ai = rb * ci + ib * cr
        const ra = unchecked(re[a]); const ia = unchecked(im[a])
        unchecked(re[b] = ra - ar); unchecked(im[b] = ia - ai)
        unchecked(re[a] = ra + ar); unchecked(im[a] = ia + ai)
      }
    }
  }
}

/** The 120 features of a clip (see the header). */
function featuresOf (x: Float64Array): Float64Array {
  if (!tablesMade) makeTables()
  const frames = (SAMPLES - FRAME) / HOP + 1
  const logmel = new Float64Array(frames * BANDS)
  const re = new Float64Array(NFFT)
  const im = new Float64Array(NFFT)
  const power = new Float64Array(NFFT / 2 + 1)
  let total = 0.0
  for (let f = 0; f < frames; f++) {
    const at = f * HOP
    for (let i = 0; i < FRAME; i++) unchecked(re[i] = unchecked(x[at + i]) * unchecked(WINDOW[i]))
    for (let i = FRAME; i < NFFT; i++) unchecked(re[i] = 0.0)
    im.fill(0.0)
    fft(re, im)
    for (let k = 0; k <= NFFT / 2; k++) unchecked(power[k] = unchecked(re[k]) * unchecked(re[k]) + unchecked(im[k]) * unchecked(im[k]))
    for (let b = 0; b < BANDS; b++) {
      const w = unchecked(BAND_WEIGHTS[b])
      const from = unchecked(BAND_FROM[b])
      let e = 0.0
      const n = w.length
      for (let j = 0; j < n; j++) e += unchecked(w[j]) * unchecked(power[from + j])
      const v = Math.log(e + 1e-8)
      logmel[f * BANDS + b] = v
      total += v
    }
  }
  const mean = total / <f64>(frames * BANDS)
  const out = new Float64Array(FEATURES)
  for (let s = 0; s < SEGMENTS; s++) {
    const from = s * frames / SEGMENTS
    const to = (s + 1) * frames / SEGMENTS
    for (let b = 0; b < BANDS; b++) {
      let sum = 0.0
      for (let f = from; f < to; f++) sum += logmel[f * BANDS + b]
      out[s * BANDS + b] = sum / <f64>(to - from) - mean
    }
  }
  return out
}

function refuse (): void {
  Host.outputString('{"error":{"name":"InvalidAudioError","message":"' + why + '"}}')
}

export function features (): i32 {
  const x = samples(Host.input())
  if (x == null) { refuse(); return 0 }
  const f = featuresOf(x)
  Host.output(Uint8Array.wrap(f.buffer))
  return 0
}

export function classify (): i32 {
  const x = samples(Host.input())
  if (x == null) { refuse(); return 0 }
  const f = featuresOf(x)
  // standardised as in training
  for (let i = 0; i < FEATURES; i++) f[i] = (f[i] - <f64>MU[i]) / <f64>SD[i]
  Host.outputString(softmaxScores(W, B, f))
  return 0
}

export function health (): i32 {
  Host.outputString('ok')
  return 0
}
