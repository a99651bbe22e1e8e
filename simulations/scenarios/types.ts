import type { Network } from '../harness/network.js'
import type { Series } from '../harness/svg.js'

export interface ScenarioContext {
  net: Network
  nodes: number
  seed: number
  repeats: number
  random: () => number
  /** one-line progress: phase name and, when known, how far along */
  progress: (phase: string, value?: number, total?: number) => void
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
  plot: { title: string, xLabel: string, series: Series[] }
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>
