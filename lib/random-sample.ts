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
