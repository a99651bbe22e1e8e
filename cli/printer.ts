/** Aligned columns, two spaces apart; the last column is not padded. */
export function table (rows: string[][], header?: string[]): string {
  const all = header != null ? [header, ...rows] : rows
  const widths: number[] = []
  for (const row of all) {
    row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length) })
  }
  return all
    .map(row => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd())
    .join('\n')
}

/** `key: value` pairs with the values aligned. */
export function keyValues (pairs: Array<[string, string]>): string {
  return table(pairs.map(([k, v]) => [`${k}:`, v]))
}

/** 1536 -> "1.5 KiB" */
export function bytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

/** 1234 -> "1.2s", 450 -> "450ms" */
export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  if (ms < 3600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`
  return `${Math.floor(ms / 3600_000)}h${Math.floor((ms % 3600_000) / 60_000)}m`
}

export function labelText (labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  return pairs.length === 0 ? '-' : pairs.join(',')
}
