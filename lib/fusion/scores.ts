import { MalformedMessageError, serviceError } from '../interface/errors.js'

/**
 * What a processor answers (docs/fusion.md, "The processor contract"): JSON,
 * one of
 * - `{ "scores": { "<label>": n, ... } }`: labels left out score 0;
 * - `{ "scores": [n, ...] }`: one number per task label, in the task's order;
 * - `{ "label": "<label>", "confidence": c }`: c on that label, the rest
 *   shared evenly by the others;
 * - `{ "error": { "name", "message" } }`: the processor refused the input
 *   (a wasm module answers its errors so: trapping would cost its instance).
 * Scores are finite and >= 0 and are normalised to sum to 1 (a processor
 * whose numbers already are probabilities is unchanged). Anything else is a
 * MalformedMessageError naming what is wrong: the engine reports that
 * processor as `error` and fuses the rest.
 */
export function parseScores (payload: Uint8Array, labels: readonly string[], index: ReadonlyMap<string, number>): Float64Array {
  let body: any
  try {
    body = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'))
  } catch {
    throw new MalformedMessageError('the processor\'s answer is not JSON')
  }
  if (body == null || typeof body !== 'object') throw new MalformedMessageError('the processor\'s answer is not a JSON object')
  if (body.error != null && typeof body.error === 'object' && typeof body.error.name === 'string') throw serviceError(body.error.name, String(body.error.message ?? ''))
  const k = labels.length
  const out = new Float64Array(k)
  const number = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MalformedMessageError(`${what} is not a finite number >= 0`)
    return v
  }
  if (Array.isArray(body.scores)) {
    if (body.scores.length !== k) throw new MalformedMessageError(`"scores" has ${body.scores.length} numbers for ${k} labels`)
    for (let i = 0; i < k; i++) out[i] = number(body.scores[i], `score ${i}`)
  } else if (body.scores != null && typeof body.scores === 'object') {
    for (const [label, v] of Object.entries(body.scores)) {
      const i = index.get(label)
      if (i == null) throw new MalformedMessageError(`"scores" names "${label.slice(0, 64)}", which is not a label of the task`)
      out[i] = number(v, `the score of "${label.slice(0, 64)}"`)
    }
  } else if (typeof body.label === 'string') {
    const i = index.get(body.label)
    if (i == null) throw new MalformedMessageError(`"label" is "${body.label.slice(0, 64)}", which is not a label of the task`)
    const c = number(body.confidence ?? 1, '"confidence"')
    if (c > 1) throw new MalformedMessageError('"confidence" is above 1')
    out.fill(k > 1 ? (1 - c) / (k - 1) : 0)
    out[i] = c
  } else {
    throw new MalformedMessageError('the processor\'s answer has neither "scores" nor "label"')
  }
  let sum = 0
  for (let i = 0; i < k; i++) sum += out[i]!
  if (!(sum > 0)) throw new MalformedMessageError('the processor\'s scores are all 0')
  for (let i = 0; i < k; i++) out[i] = out[i]! / sum
  return out
}
