import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'
import { fitSoftmax, predictSoftmax, type SoftmaxModel } from '../../../lib/fusion/softmax-regression.js'
import { argmax } from '../../../lib/fusion/rules.js'
import { createPlugin, type Plugin } from '../../../lib/runtime/extism/index.js'
import { wasmApi } from '../../../lib/wasm-api.js'
import { degradeImage, LEVELS, noisyUtterance, rng, type Dataset, type ImageItem } from './dataset.js'

/**
 * The benchmark's three processors, trained on the train split only:
 * - digit-image (wasm): multinomial logistic regression on the 64 pixels,
 *   trained on images degraded at random levels;
 * - digit-audio (wasm): the same model on the module's own log-mel features
 *   (computed by running the compiled module, so training and serving share
 *   one implementation), trained on train voices at random SNRs;
 * - knn (Python, examples/fusion/knn_digits.py): 7 nearest neighbours over
 *   the same degraded training images, scores not calibrated.
 * Weights are written into each module's weights.ts and the module compiled
 * with AssemblyScript, as `npm run build:examples` does.
 */

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)))
export const FUSION_MODULES = join(REPO, 'examples', 'fusion', 'modules')
export const KNN_SERVICE = join(REPO, 'examples', 'fusion', 'knn_digits.py')
const AUGMENT = 3
const TRAIN_SNRS: Array<number | null> = [null, 10, 5, 0, -5, -10, -15]

const f32Array = (name: string, xs: ArrayLike<number>): string => `export const ${name}: StaticArray<f32> = [${Array.from(xs, v => Number.isFinite(v) ? v.toPrecision(7) : '0').join(', ')}]\n`

async function compile (name: string): Promise<string> {
  const dir = join(FUSION_MODULES, name)
  const manifest = JSON.parse(await readFile(join(dir, 'noodle.json'), 'utf8'))
  const { error, stderr } = await asc.main([join(dir, 'index.ts'), '--outFile', join(dir, manifest.entry), '--use', 'abort=index/myAbort', '--optimize', '--baseDir', dir])
  if (error != null) throw new Error(`${name}: ${error.message}\n${stderr.toString()}`)
  return dir
}

/** Degraded copies of the training images: the clean one and AUGMENT at random levels. */
export function augmentedImages (items: readonly ImageItem[], seed: number): Array<{ x: number[], label: number }> {
  const r = rng(seed)
  const out: Array<{ x: number[], label: number }> = []
  for (const it of items) {
    out.push({ x: it.pixels, label: it.label })
    for (let a = 0; a < AUGMENT; a++) {
      const level = LEVELS[1 + Math.floor(r() * (LEVELS.length - 1))]!
      out.push({ x: degradeImage(it.pixels, { occlusion: Math.floor(r() * (level.occlusion + 1)), noise: level.noise * r() }, r), label: it.label })
    }
  }
  return out
}

const imageFeatures = (pixels: readonly number[]): number[] => pixels.map(v => v / 16)

export interface TrainedProcessors {
  image: { dir: string, trainAccuracy: number }
  audio: { dir: string, trainAccuracy: number }
  knn: { data: string, examples: number }
}

/** A compiled module as an Extism plugin in this thread: the trainer runs its `features`, the benchmark's straggler its `classify`. */
export async function inThreadPlugin (wasmFile: string): Promise<Plugin> {
  return await createPlugin([{ name: 'main', module: await wasmApi.compile(await readFile(wasmFile)) }], { runInWorker: false, limits: { maxKernelBytes: 64 << 20, maxLogLines: 10, maxLogLineChars: 200 } })
}

export async function trainProcessors (data: Dataset, log: (s: string) => void): Promise<TrainedProcessors> {
  const t0 = Date.now()
  // image: logistic regression on pixels
  const images = augmentedImages(data.images.train, 11)
  const imageModel = fitSoftmax(images.map(i => imageFeatures(i.x)), images.map(i => i.label), 10, { l2: 1e-4, steps: 300 })
  const imageAcc = accuracy(imageModel, images.map(i => imageFeatures(i.x)), images.map(i => i.label))
  await writeFile(join(FUSION_MODULES, 'digit-image', 'weights.ts'), f32Array('W', imageModel.weights.flat()) + f32Array('B', imageModel.bias))
  const imageDir = await compile('digit-image')
  log(`digit-image: trained on ${images.length} images (train accuracy ${(imageAcc * 100).toFixed(1)}%)`)

  // audio: the module's own features first (weights do not matter for them), then the model
  const audioDir = join(FUSION_MODULES, 'digit-audio')
  if (!existsSync(join(audioDir, 'weights.ts'))) {
    await writeFile(join(audioDir, 'weights.ts'), f32Array('MU', new Float64Array(120)) + f32Array('SD', new Float64Array(120).fill(1)) + f32Array('W', new Float64Array(1200)) + f32Array('B', new Float64Array(10)))
  }
  await compile('digit-audio')
  const features = await inThreadPlugin(join(audioDir, 'build', 'digit-audio.wasm'))
  const r = rng(12)
  const xs: Float64Array[] = []
  const ys: number[] = []
  try {
    for (const s of data.settings.train) {
      for (let digit = 0; digit < 10; digit++) {
        for (let a = 0; a < 3; a++) {
          const snr = TRAIN_SNRS[Math.floor(r() * TRAIN_SNRS.length)]!
          const wav = await noisyUtterance(data, s, digit, snr, Math.floor(r() * 1e6))
          const out = await features.call('features', wav)
          const bytes = out!.bytes()
          xs.push(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)))
          ys.push(digit)
        }
      }
    }
  } finally {
    await features.close()
  }
  const d = xs[0]!.length
  const mu = new Float64Array(d)
  const sd = new Float64Array(d)
  for (const x of xs) for (let j = 0; j < d; j++) mu[j] = mu[j]! + x[j]! / xs.length
  for (const x of xs) for (let j = 0; j < d; j++) sd[j] = sd[j]! + (x[j]! - mu[j]!) ** 2 / xs.length
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) || 1
  const standardised = xs.map(x => x.map((v, j) => (v - mu[j]!) / sd[j]!))
  const audioModel = fitSoftmax(standardised, ys, 10, { l2: 1e-3, steps: 400 })
  const audioAcc = accuracy(audioModel, standardised, ys)
  await writeFile(join(audioDir, 'weights.ts'), f32Array('MU', mu) + f32Array('SD', sd) + f32Array('W', audioModel.weights.flat()) + f32Array('B', audioModel.bias))
  await compile('digit-audio')
  log(`digit-audio: trained on ${xs.length} clips of ${data.settings.train.length} voices (train accuracy ${(audioAcc * 100).toFixed(1)}%)`)

  // knn: the clean training images, for the Python service to load (pure Python pays per example)
  await mkdir(join(data.dir, 'knn'), { recursive: true })
  const knnData = join(data.dir, 'knn', 'train.json')
  await writeFile(knnData, JSON.stringify({ k: 7, examples: data.images.train.map(i => [i.label, ...i.pixels]) }))
  log(`knn: ${data.images.train.length} examples; all three in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return { image: { dir: imageDir, trainAccuracy: imageAcc }, audio: { dir: audioDir, trainAccuracy: audioAcc }, knn: { data: knnData, examples: data.images.train.length } }
}

function accuracy (m: SoftmaxModel, xs: ReadonlyArray<ArrayLike<number>>, ys: readonly number[]): number {
  let right = 0
  xs.forEach((x, i) => { if (argmax(predictSoftmax(m, x)) === ys[i]) right++ })
  return right / xs.length
}
