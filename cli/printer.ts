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
