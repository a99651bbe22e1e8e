// mulberry32, so a scenario's choices repeat with --seed
export { seededRandom } from '../../lib/random-sample.js'

export function pick<T> (items: T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)]
  if (item === undefined) throw new Error('pick from an empty list')
  return item
}
