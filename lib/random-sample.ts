/**
 * Up to `max` of `items` picked at random, without repeats (a partial
 * Fisher-Yates shuffle of a copy: only the first `max` places are drawn).
 */
export function randomSample<T> (items: Iterable<T>, max: number): T[] {
  const all = [...items]
  for (let i = 0; i < Math.min(max, all.length - 1); i++) {
    const j = i + Math.floor(Math.random() * (all.length - i))
    ;[all[i], all[j]] = [all[j]!, all[i]!]
  }
  return all.slice(0, Math.max(0, max))
}

/** mulberry32: a small seeded generator, for choices that must repeat (a scenario's, a calibration's). */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
