import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { seededRandom } from '../../../lib/random-sample.js'

/**
 * The cross-modal digits benchmark, made offline from real sources:
 * scikit-learn's handwritten digits (1,797 8x8 images, `digits.csv.gz` from
 * Debian's python3-sklearn) paired by label with spoken digits synthesised
 * by espeak-ng (voices, variants, speeds and pitches), resampled and mixed
 * with noise by sox; images degraded by occlusion and noise. Images are
 * split into train, calibration and test sets, voice settings likewise (a
 * test voice is never heard in training), all by a fixed seed.
 */

const execFileAsync = promisify(execFile)
const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)))
export const DATA_DIR = process.env.NOODLE_FUSION_DATA ?? join(REPO, '.cache', 'fusion')
/** Bump when what is generated changes: the cache under DATA_DIR is then rebuilt. */
const DATASET_VERSION = 1
const SEED = 20261208

export const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
const VOICES = ['en', 'en-us', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-us-nyc']
const VARIANTS = ['', '+m1', '+m2', '+m3', '+m4', '+m5', '+f1', '+f2', '+f3', '+f4', '+croak', '+whisper']
export const SETTINGS = 100
export const SAMPLE_RATE = 8000

/** One degradation level: image occlusion (a square of that many pixels blanked), image noise (sigma, in the 0-16 ink scale), audio SNR (dB; null: no noise). */
export interface Level {
  name: string
  occlusion: number
  noise: number
  snrDb: number | null
}

export const LEVELS: Level[] = [
  { name: 'clean', occlusion: 0, noise: 0, snrDb: null },
  { name: 'mild', occlusion: 2, noise: 2, snrDb: 0 },
  { name: 'moderate', occlusion: 3, noise: 3, snrDb: -5 },
  { name: 'hard', occlusion: 3, noise: 4, snrDb: -10 },
  { name: 'severe', occlusion: 4, noise: 4, snrDb: -15 }
]

export interface VoiceSetting { id: number, voice: string, speed: number, pitch: number }
export interface ImageItem { id: number, label: number, pixels: number[] }
export type Split = 'train' | 'calibration' | 'test'

export interface Dataset {
  images: Record<Split, ImageItem[]>
  settings: Record<Split, VoiceSetting[]>
  dir: string
}

/** What the benchmark needs that `npm install` does not bring, by name; empty when all is there. */
export function missingDeps (dir = DATA_DIR): string[] {
  const missing: string[] = []
  for (const tool of ['espeak-ng', 'sox']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error != null) missing.push(`${tool} (Debian package ${tool})`)
  }
  if (!existsSync(join(dir, 'digits.csv.gz'))) missing.push(`${join(dir, 'digits.csv.gz')} (from Debian's python3-sklearn)`)
  return missing
}

/** A seeded generator, so every run makes the same data. */
export const rng = seededRandom

export function gauss (r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())
}

function shuffle<T> (xs: T[], r: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
  }
  return xs
}

/** Run `n` async jobs at most `width` at a time. */
async function pool (n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await job(next++)
  }))
}

const utterancePath = (dir: string, s: VoiceSetting, digit: number): string => join(dir, 'speech', `s${s.id}-${digit}.wav`)

/** espeak-ng says the word; sox makes it 8 kHz 16-bit mono, 50 ms of silence first, exactly 1 s. */
async function synthesise (dir: string, s: VoiceSetting, digit: number): Promise<void> {
  const out = utterancePath(dir, s, digit)
  if (existsSync(out)) return
  const raw = `${out}.raw.wav`
  await execFileAsync('espeak-ng', ['-v', s.voice, '-s', String(s.speed), '-p', String(s.pitch), '-w', raw, WORDS[digit]!])
  await execFileAsync('sox', ['-V1', raw, '-r', String(SAMPLE_RATE), '-c', '1', '-b', '16', out, 'pad', '0.05', '0.5', 'trim', '0', '1'])
  await execFileAsync('rm', ['-f', raw])
}

/** Build (or load from DATA_DIR) the dataset: splits, voice settings, clean utterances, and the noise sox mixes in. */
export async function buildDataset (log: (s: string) => void, dir = DATA_DIR): Promise<Dataset> {
  const missing = missingDeps(dir)
  if (missing.length > 0) throw new Error(`the fusion benchmark needs: ${missing.join('; ')}. Run: sudo npm run bench:fusion:deps`)
  const manifestPath = join(dir, `dataset-v${DATASET_VERSION}.json`)
  if (existsSync(manifestPath)) return JSON.parse(await readFile(manifestPath, 'utf8')) as Dataset
  const csv = gunzipSync(await readFile(join(dir, 'digits.csv.gz'))).toString('utf8').trim().split('\n')
  const all: ImageItem[] = csv.map((line, id) => {
    const v = line.split(',').map(Number)
    return { id, label: v[64]!, pixels: v.slice(0, 64) }
  })
  const r = rng(SEED)
  shuffle(all, r)
  const half = Math.floor(all.length / 2)
  const quarter = Math.floor(all.length / 4)
  const images = { train: all.slice(0, half), calibration: all.slice(half, half + quarter), test: all.slice(half + quarter) }
  const settings: VoiceSetting[] = []
  const seen = new Set<string>()
  while (settings.length < SETTINGS) {
    const voice = VOICES[Math.floor(r() * VOICES.length)]! + VARIANTS[Math.floor(r() * VARIANTS.length)]!
    const speed = 110 + Math.floor(r() * 10) * 10
    const pitch = 20 + Math.floor(r() * 7) * 10
    const key = `${voice} ${speed} ${pitch}`
    if (seen.has(key)) continue
    seen.add(key)
    settings.push({ id: settings.length, voice, speed, pitch })
  }
  const bySplit = { train: settings.slice(0, 60), calibration: settings.slice(60, 80), test: settings.slice(80) }
  await mkdir(join(dir, 'speech'), { recursive: true })
  await mkdir(join(dir, 'noisy'), { recursive: true })
  const started = Date.now()
  await pool(settings.length * 10, 2, async (i) => { await synthesise(dir, settings[Math.floor(i / 10)]!, i % 10) })
  log(`synthesised ${settings.length * 10} utterances with espeak-ng in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const noise = join(dir, 'noise.wav')
  if (!existsSync(noise)) await execFileAsync('sox', ['-V1', '-n', '-r', String(SAMPLE_RATE), '-c', '1', '-b', '16', noise, 'synth', '120', 'whitenoise', 'vol', '0.25'])
  const dataset: Dataset = { images, settings: bySplit, dir }
  await writeFile(manifestPath, JSON.stringify(dataset))
  return dataset
}

/** The 16-bit samples of a PCM WAV written by sox (its data chunk). */
export function wavSamples (wav: Buffer): Int16Array {
  let at = 12
  while (at + 8 <= wav.length) {
    const id = wav.toString('ascii', at, at + 4)
    const size = wav.readUInt32LE(at + 4)
    if (id === 'data') return new Int16Array(wav.buffer.slice(wav.byteOffset + at + 8, wav.byteOffset + at + 8 + size - (size & 1)))
    at += 8 + size + (size & 1)
  }
  throw new Error('no data chunk')
}

function rms (x: Int16Array): number {
  let s = 0
  for (const v of x) s += v * v
  return Math.sqrt(s / Math.max(1, x.length))
}

/**
 * The utterance of `digit` in voice setting `s` with noise at `snrDb`
 * (null: clean), mixed by sox: a stretch of the noise file from an offset
 * the seed picks, scaled so that the clip's power over the noise's is the
 * SNR, then the mix normalised to -1 dBFS so it never clips. Cached on disk.
 */
export async function noisyUtterance (data: Dataset, s: VoiceSetting, digit: number, snrDb: number | null, seed: number): Promise<Buffer> {
  const clean = utterancePath(data.dir, s, digit)
  if (snrDb == null) return await readFile(clean)
  const out = join(data.dir, 'noisy', `s${s.id}-${digit}-${snrDb}-${seed % 1000}.wav`)
  if (!existsSync(out) || (await stat(out)).size < 1000) {
    const noise = join(data.dir, 'noise.wav')
    const signalRms = rms(wavSamples(await readFile(clean)))
    // the noise file is white noise at a fixed level: its RMS is measured once
    noiseRms ??= rms(wavSamples(await readFile(noise)))
    const gain = signalRms / (noiseRms * Math.pow(10, snrDb / 20))
    const offset = (seed % 1000) * 0.118
    await execFileAsync('sox', ['-V1', '-m', '-v', '1', clean, '-v', gain.toFixed(6), `|sox -V1 ${noise} -p trim ${offset.toFixed(3)} 1`, '-b', '16', out, 'gain', '-n', '-1'])
  }
  return await readFile(out)
}
let noiseRms: number | undefined

/**
 * An image degraded to `level`: a square of `occlusion` pixels blanked at a
 * place the generator picks, Gaussian noise of sigma `noise` added, clipped
 * to the 0-16 ink scale.
 */
export function degradeImage (pixels: readonly number[], level: Pick<Level, 'occlusion' | 'noise'>, r: () => number): number[] {
  const out = [...pixels]
  if (level.occlusion > 0) {
    const x0 = Math.floor(r() * (9 - level.occlusion))
    const y0 = Math.floor(r() * (9 - level.occlusion))
    for (let y = y0; y < y0 + level.occlusion; y++) for (let x = x0; x < x0 + level.occlusion; x++) out[y * 8 + x] = 0
  }
  if (level.noise > 0) for (let i = 0; i < 64; i++) out[i] = Math.min(16, Math.max(0, Math.round(out[i]! + level.noise * gauss(r))))
  return out
}

/** An 8x8 image as a binary PGM (P5, maxval 16): what the image processors take. */
export function pgm (pixels: readonly number[]): Uint8Array {
  const head = Buffer.from('P5\n8 8\n16\n', 'ascii')
  return Buffer.concat([head, Buffer.from(pixels)])
}
