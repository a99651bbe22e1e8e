import { largest } from './stats.js'
export interface Series {
  name: string
  /** values in ms */
  values: number[]
  /** how many samples `values` stands for, when it holds their quantiles */
  n?: number
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

/**
 * At most `max` values standing for the sorted samples: evenly spaced
 * quantiles, the minimum and maximum kept. A CDF drawn from them looks the
 * same and an rpc-load run's 20,000 calls no longer make a 2 MB SVG.
 */
export function quantiles (values: number[], max = 500): number[] {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length <= max) return s
  return Array.from({ length: max }, (_, i) => s[Math.round((i / (max - 1)) * (s.length - 1))]!)
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

interface Frame {
  W: number
  H: number
  top: number
  left: number
  plotW: number
  plotH: number
  /** the SVG's lines so far */
  out: string[]
}

/** A 760 x 460 chart: background, title and note lines; the plot area below them. */
function frame (title: string, notes: string[]): Frame {
  const W = 760
  const H = 460
  const top = 50 + notes.length * 16
  const left = 70
  const right = 40
  const bottom = 50
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`)
  notes.forEach((n, i) => out.push(`<text x="${left}" y="${44 + i * 16}" fill="#444">${esc(n)}</text>`))
  return { W, H, top, left, plotW: W - left - right, plotH: H - top - bottom, out }
}

/** Vertical grid lines and tick labels at fifths of `maxX`. */
function xGrid (f: Frame, x: (v: number) => number, maxX: number): void {
  for (let i = 0; i <= 5; i++) {
    const v = (maxX / 5) * i
    f.out.push(`<line x1="${x(v)}" y1="${f.top}" x2="${x(v)}" y2="${f.top + f.plotH}" stroke="#eee"/>`)
    f.out.push(`<text x="${x(v)}" y="${f.top + f.plotH + 16}" text-anchor="middle">${Math.round(v)}</text>`)
  }
}

/** The two axes and the x axis's label. */
function axes (f: Frame, xLabel: string): void {
  const { out, left, top, plotW, plotH, H } = f
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="black"/>`)
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>`)
  out.push(`<text x="${left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`)
}

/**
 * Empirical CDFs of one or more series as a standalone SVG: each step is one
 * sample, so p50/p99 can be read off the y axis. Hand-written (about 60 lines)
 * rather than pulling vega into the project for one chart type.
 */
export function cdfSvg (init: PlotInit): string {
  const f = frame(init.title, init.notes ?? [])
  const { out, top, left, plotW, plotH } = f
  const all = init.series.flatMap(s => s.values).filter(Number.isFinite)
  const maxX = niceCeil(largest(all, 1) * 1.02)
  const x = (v: number): number => left + (v / maxX) * plotW
  const y = (p: number): number => top + plotH - p * plotH
  xGrid(f, x, maxX)
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    out.push(`<line x1="${left}" y1="${y(p)}" x2="${left + plotW}" y2="${y(p)}" stroke="${p === 0.5 ? '#ccc' : '#f2f2f2'}"/>`)
    out.push(`<text x="${left - 6}" y="${y(p) + 4}" text-anchor="end">${p === 0.5 ? 'p50' : p === 0.9 ? 'p90' : p.toFixed(2)}</text>`)
  }
  // p99 is labelled on the right, where it does not collide with 1.00
  out.push(`<line x1="${left}" y1="${y(0.99)}" x2="${left + plotW}" y2="${y(0.99)}" stroke="#ccc" stroke-dasharray="4 3"/>`)
  out.push(`<text x="${left + plotW + 4}" y="${y(0.99) + 4}">p99</text>`)
  axes(f, init.xLabel)
  init.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!
    const n = s.values.filter(Number.isFinite).length
    const vals = quantiles(s.values)
    if (vals.length > 0) {
      let d = `M ${x(0)} ${y(0)}`
      vals.forEach((v, k) => { d += ` L ${x(v)} ${y(k / vals.length)} L ${x(v)} ${y((k + 1) / vals.length)}` })
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    }
    // legend bottom right: a CDF rises from bottom left to top right, so that corner is empty
    const ly = top + plotH - 16 - (init.series.length - 1 - i) * 18
    out.push(`<rect x="${left + plotW - 250}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`)
    out.push(`<text x="${left + plotW - 232}" y="${ly}">${esc(s.name)} (n=${s.n ?? n})</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

export interface Line {
  name?: string
  /** [x, y] in the chart's units */
  points: Array<[number, number]>
  color?: string
  width?: number
  opacity?: number
}

export interface LineChartInit {
  title: string
  xLabel: string
  yLabel: string
  lines: Line[]
  notes?: string[]
  /** vertical markers (a crash, a partition, a heal): [x, label] */
  marks?: Array<[number, string]>
  /** the top of the y axis (a percentage: 100), instead of a round number above the largest value */
  maxY?: number
}

/**
 * A time series chart as a standalone SVG (members alive per node, CPU per
 * node): many thin translucent lines read as a band, named lines are drawn
 * on top and listed in the legend.
 */
export function lineSvg (init: LineChartInit): string {
  const f = frame(init.title, init.notes ?? [])
  const { out, top, left, plotW, plotH } = f
  const xs = init.lines.flatMap(l => l.points.map(p => p[0])).filter(Number.isFinite)
  const ys = init.lines.flatMap(l => l.points.map(p => p[1])).filter(Number.isFinite)
  const maxX = niceCeil(largest(xs, 1))
  const maxY = init.maxY ?? niceCeil(largest(ys, 1) * 1.05)
  const x = (v: number): number => left + (v / maxX) * plotW
  const y = (v: number): number => top + plotH - (v / maxY) * plotH
  xGrid(f, x, maxX)
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i
    out.push(`<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#f2f2f2"/>`)
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`)
  }
  // labels on three rows, so marks close together stay readable; past 12 marks only the lines
  const marks = init.marks ?? []
  marks.forEach(([mx, label], i) => {
    out.push(`<line x1="${x(mx)}" y1="${top}" x2="${x(mx)}" y2="${top + plotH}" stroke="#999" stroke-dasharray="3 3" stroke-opacity="${marks.length > 12 ? 0.4 : 1}"/>`)
    if (marks.length <= 12) out.push(`<text x="${x(mx) + 3}" y="${top + 12 + (i % 3) * 11}" fill="#666" font-size="10">${esc(label)}</text>`)
  })
  axes(f, init.xLabel)
  out.push(`<text x="16" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">${esc(init.yLabel)}</text>`)
  const named = init.lines.filter(l => l.name != null)
  // unnamed lines first, so the named ones are drawn over the band
  for (const l of [...init.lines.filter(l => l.name == null), ...named]) {
    const pts = l.points.filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1]))
    if (pts.length === 0) continue
    const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'} ${x(p[0]).toFixed(1)} ${y(p[1]).toFixed(1)}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${l.color ?? COLORS[0]!}" stroke-width="${l.width ?? 1}" stroke-opacity="${l.opacity ?? 1}"/>`)
  }
  named.forEach((l, i) => {
    const ly = top + plotH - 16 - (named.length - 1 - i) * 18
    out.push(`<rect x="${left + plotW - 330}" y="${ly - 10}" width="12" height="12" fill="${l.color ?? COLORS[0]!}"/>`)
    out.push(`<text x="${left + plotW - 312}" y="${ly}">${esc(l.name!)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** Members alive per node over time (one translucent line per node) and the number of daemons running. */
export function aliveSvg (title: string, timeline: { nodes: Array<{ lives: Array<Array<[number, number]>> }>, running: Array<[number, number]> }, marks: Array<[number, string]> = [], notes: string[] = []): string {
  return lineSvg({
    title,
    xLabel: 's since the scenario started',
    yLabel: 'other members held alive',
    notes,
    marks,
    lines: [
      // one line per run of a daemon: a restart starts a new line (from an empty table)
      ...timeline.nodes.flatMap(n => n.lives.map(points => ({ points, color: COLORS[0]!, opacity: 0.25 }))),
      // drawn last: a band of node lines under it shows where views lag
      { name: 'daemons running, less one (the most possible)', points: timeline.running.map(([t, n]) => [t, n - 1] as [number, number]), color: COLORS[1]!, width: 2 }
    ]
  })
}
