export interface Series {
  name: string
  /** values in ms */
  values: number[]
}

export interface PlotInit {
  title: string
  xLabel: string
  series: Series[]
  /** lines of text printed under the title (figures, goals) */
  notes?: string[]
}

/** Round up to 1, 2 or 5 times a power of ten, so axis ticks are round numbers. */
function niceCeil (v: number): number {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p
  return 10 * p
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * Empirical CDFs of one or more series as a standalone SVG: each step is one
 * sample, so p50/p99 can be read off the y axis. Hand-written (about 60 lines)
 * rather than pulling vega into the project for one chart type.
 */
export function cdfSvg (init: PlotInit): string {
  const W = 760
  const H = 460
  const notes = init.notes ?? []
  const top = 50 + notes.length * 16
  const left = 70
  const right = 40
  const bottom = 50
  const plotW = W - left - right
  const plotH = H - top - bottom
  const all = init.series.flatMap(s => s.values).filter(Number.isFinite)
  const maxX = niceCeil(Math.max(1, ...all) * 1.02)
  const x = (v: number): number => left + (v / maxX) * plotW
  const y = (p: number): number => top + plotH - p * plotH
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${esc(init.title)}</text>`)
  notes.forEach((n, i) => out.push(`<text x="${left}" y="${44 + i * 16}" fill="#444">${esc(n)}</text>`))
  // axes and grid
  for (let i = 0; i <= 5; i++) {
    const v = (maxX / 5) * i
    out.push(`<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${top + plotH}" stroke="#eee"/>`)
    out.push(`<text x="${x(v)}" y="${top + plotH + 16}" text-anchor="middle">${Math.round(v)}</text>`)
  }
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    out.push(`<line x1="${left}" y1="${y(p)}" x2="${left + plotW}" y2="${y(p)}" stroke="${p === 0.5 ? '#ccc' : '#f2f2f2'}"/>`)
    out.push(`<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end">${p === 0.5 ? 'p50' : p === 0.9 ? 'p90' : p.toFixed(2)}</text>`)
  }
  // p99 is labelled on the right, where it does not collide with 1.00
  out.push(`<line x1="${left}" y1="${y(0.99)}" x2="${left + plotW}" y2="${y(0.99)}" stroke="#ccc" stroke-dasharray="4 3"/>`)
  out.push(`<text x="${left + plotW + 4}" y="${y(0.99) + 4}">p99</text>`)
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="black"/>`)
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>`)
  out.push(`<text x="${left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(init.xLabel)}</text>`)
  init.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!
    const vals = s.values.filter(Number.isFinite).sort((a, b) => a - b)
    if (vals.length > 0) {
      let d = `M ${x(0)} ${y(0)}`
      vals.forEach((v, k) => { d += ` L ${x(v)} ${y(k / vals.length)} L ${x(v)} ${y((k + 1) / vals.length)}` })
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    }
    // legend bottom right: a CDF rises from bottom left to top right, so that corner is empty
    const ly = top + plotH - 16 - (init.series.length - 1 - i) * 18
    out.push(`<rect x="${left + plotW - 250}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`)
    out.push(`<text x="${left + plotW - 232}" y="${ly}">${esc(s.name)} (n=${vals.length})</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
