import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { VERSION } from '../../lib/version.js'

export interface MachineInfo {
  /** the commit the figures were measured on, `unknown` outside a git checkout */
  commit: string
  /** the working tree had uncommitted changes: the figures are of no commit exactly */
  dirty: boolean
  cpuModel?: string
  cpus: number
  memTotalMb: number
  node: string
  noodled: string
  /** the host's 1, 5 and 15 minute load averages when the run began */
  loadavg: number[]
}

const root = fileURLToPath(new URL('../../../', import.meta.url))

function git (...args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

/** What every results file records of where and on what its figures were measured. */
export function machineInfo (): MachineInfo {
  return {
    commit: git('rev-parse', 'HEAD') ?? 'unknown',
    dirty: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
    cpuModel: cpus()[0]?.model,
    cpus: cpus().length,
    memTotalMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    noodled: VERSION,
    loadavg: loadavg().map(l => Math.round(l * 100) / 100)
  }
}
