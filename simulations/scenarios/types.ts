import type { Network } from '../harness/network.js'
import type { NetnsLab } from '../harness/netns.js'
import type { Series } from '../harness/svg.js'

export interface ScenarioContext {
  net: Network
  nodes: number
  seed: number
  repeats: number
  random: () => number
  /** one-line progress: phase name and, when known, how far along */
  progress: (phase: string, value?: number, total?: number) => void
  /** set when the daemons run in network namespaces (`--netns`); partitions need it */
  netns?: NetnsLab
  /** mark a moment on the run's time series plot (a crash, a partition, a heal) */
  mark: (label: string, at?: number) => void
}

export interface Goal {
  name: string
  target: string
  value: number | string
  met: boolean
}

export interface ScenarioResult {
  summary: Record<string, unknown>
  goals: Goal[]
  /** the few figures the summary table across runs shows (`npm run sim:report`) */
  headline: Record<string, number | string>
  plot: { title: string, xLabel: string, series: Series[] }
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>
