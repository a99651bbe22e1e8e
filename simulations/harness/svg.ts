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
  const right = 20
  const bottom = 50
  const plotW = W - left - right
  const plotH = H - top - bottom
  const all = init.series.flatMap(s => s.values).filter(Number.isFinite)
  const maxX = Math.max(1, ...all) * 1.05
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
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    out.push(`<line x1="${left}" y1="${y(p)}" x2="${left + plotW}" y2="${y(p)}" stroke="${p === 0.5 || p === 0.99 ? '#ccc' : '#f2f2f2'}"/>`)
    out.push(`<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end">${p === 0.99 ? 'p99' : p === 0.5 ? 'p50' : p.toFixed(2)}</text>`)
  }
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
    out.push(`<rect x="${left + plotW - 200}" y="${top + 10 + i * 18}" width="12" height="12" fill="${color}"/>`)
    out.push(`<text x="${left + plotW - 182}" y="${top + 20 + i * 18}">${esc(s.name)} (n=${vals.length})</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
