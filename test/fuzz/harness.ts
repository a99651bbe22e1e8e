import fc from 'fast-check'

/** Cases per target: a few hundred in `npm test`, many more with `npm run fuzz` (FUZZ_RUNS). */
export function runs (inTest = 150): number {
  const n = Number(process.env.FUZZ_RUNS)
  return Number.isInteger(n) && n > 0 ? n : inTest
}

/** fast-check's settings: the seed is printed on failure (replay with FUZZ_SEED). */
export function settings (inTest?: number): fc.Parameters<unknown> {
  const seed = Number(process.env.FUZZ_SEED)
  return { numRuns: runs(inTest), ...(Number.isInteger(seed) ? { seed } : {}), endOnFailure: true }
}

const BOUNDARY = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d]

/**
 * Mutations of valid samples, as a mutation fuzzer makes them: bit flips,
 * boundary bytes, deleted, repeated and inserted runs, truncation, and
 * splices of two samples. Valid inputs mutated a little reach deeper into a
 * decoder than random bytes, which most reject at the first byte.
 */
export function mutated (samples: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARY) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 64 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 32 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), other: fc.nat(), from: fc.nat() })
  )
  return fc.record({ sample: fc.nat(), ops: fc.array(op, { minLength: 1, maxLength: 6 }) }).map(({ sample, ops }) => {
    let b: Uint8Array = Uint8Array.from(samples[sample % samples.length]!)
    for (const o of ops) {
      const at = b.length === 0 ? 0 : o.at % b.length
      switch (o.kind) {
        case 'flip': if (b.length > 0) b[at] = b[at]! ^ (1 << o.bit); break
        case 'set': if (b.length > 0) b[at] = o.value; break
        case 'delete': b = concat(b.subarray(0, at), b.subarray(at + o.len)); break
        case 'repeat': { const run = b.subarray(at, at + o.len); b = concat(b.subarray(0, at), ...Array<Uint8Array>(o.times).fill(run), b.subarray(at + o.len)); break }
        case 'insert': b = concat(b.subarray(0, at), o.bytes, b.subarray(at)); break
        case 'truncate': b = b.subarray(0, at); break
        case 'splice': { const other = samples[o.other % samples.length]!; b = concat(b.subarray(0, at), other.subarray(other.length === 0 ? 0 : o.from % other.length)); break }
      }
    }
    return b
  })
}

/** Random JSON values with the shapes that break parsers: deep nesting, long strings, odd numbers. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.constantFrom(null, -1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', '__proto__', [], {}),
  fc.string({ minLength: 1000, maxLength: 5000 }),
  fc.integer({ min: 1, max: 300 }).map(d => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'name', 'version', 'v', 'type', 'spec', 'auth'), fc.jsonValue({ maxDepth: 2 }))
)

/** Replace one leaf of a valid JSON value with a hostile one. */
export function mutatedJson (samples: unknown[]): fc.Arbitrary<unknown> {
  return fc.record({ sample: fc.nat(), path: fc.array(fc.nat(), { maxLength: 4 }), value: hostileJson, drop: fc.boolean() }).map(({ sample, path, value, drop }) => {
    const root = structuredClone(samples[sample % samples.length])
    let node: any = root
    for (let i = 0; i < path.length; i++) {
      if (node == null || typeof node !== 'object') break
      const keys = Object.keys(node)
      if (keys.length === 0) break
      const key = keys[path[i]! % keys.length]!
      if (i === path.length - 1 || node[key] == null || typeof node[key] !== 'object') {
        if (drop) delete node[key]
        else node[key] = value
        return root
      }
      node = node[key]
    }
    return value
  })
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/**
 * The property every decoder keeps: it returns, or throws an Error whose
 * name is one of `allowed` (a named, expected refusal, not a TypeError from
 * a path nobody thought of), within `budgetMs`.
 */
export async function graceful (what: string, fn: () => unknown, allowed: string[], budgetMs = 1_000): Promise<void> {
  const started = performance.now()
  try {
    await fn()
  } catch (err: any) {
    if (!(err instanceof Error)) throw new Error(`${what} threw a non-Error: ${String(err)}`)
    if (allowed.length > 0 && !allowed.includes(err.name)) throw new Error(`${what} threw ${err.name} (${err.message}), not one of ${allowed.join(', ')}`)
  }
  const ms = performance.now() - started
  if (ms > budgetMs) throw new Error(`${what} took ${Math.round(ms)} ms`)
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const json = (v: unknown): Uint8Array => text(JSON.stringify(v))
