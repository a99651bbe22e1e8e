import type { Logger } from '@libp2p/interface'
import { PROBATION_CHECK_MS } from './constants.js'
import { endProbation, switchTo, type LoadedService, type PoolSource } from './loaded-service.js'
import type { ModulePool } from './pool.js'
import { errorSpike } from './rollout.js'

export interface ProbationInit {
  /** how long a new version is watched after it switched */
  probationMs: number
  startPool: (service: string, source: PoolSource) => Promise<ModulePool>
  /** true while `entry` is still the service's entry (not unloaded or reloaded) */
  isCurrent: (entry: LoadedService) => boolean
  log: Logger
}

/**
 * After an update switches, the new version is watched for `probationMs`:
 * an error-rate spike (rollout.ts) brings the version before back, as a
 * failed health check would have. Owners after this one wait for the
 * probation to end (owners.ts), so a bad version stops at the first owner.
 */
export class Probation {
  private readonly init: ProbationInit

  constructor (init: ProbationInit) {
    this.init = init
  }

  watch (entry: LoadedService, pool: ModulePool, before: { calls: number, errors: number }, back: PoolSource): void {
    const until = Date.now() + this.init.probationMs
    entry.view = { ...entry.view, probationUntil: new Date(until).toISOString() }
    const timer = setInterval(() => {
      if (entry.pool !== pool || !this.init.isCurrent(entry)) {
        clearInterval(timer)
        return
      }
      const spike = errorSpike(pool.counters, before)
      if (spike == null && Date.now() < until) return
      clearInterval(timer)
      // a spike keeps the probation mark until the version before is back (the next owner waits)
      if (spike != null) {
        void this.rollBack(entry, pool, back, spike)
        return
      }
      endProbation(entry)
    }, PROBATION_CHECK_MS)
    timer.unref?.()
  }

  private async rollBack (entry: LoadedService, bad: ModulePool, back: PoolSource, why: string): Promise<void> {
    const service = entry.view.service
    const failing = { module: entry.view.module ?? '', cid: entry.view.cid ?? '' }
    // decided now: an owner asking from here on sees it rolled back and halts
    entry.view = { ...entry.view, history: entry.view.history.map((h, i, all) => i === all.length - 1 && h.cid === failing.cid ? { ...h, outcome: 'rolled back' as const, error: why } : h) }
    let pool: ModulePool
    try {
      pool = await this.init.startPool(service, back)
    } catch (err: any) {
      endProbation(entry)
      entry.view = { ...entry.view, error: `${failing.module} has an error spike (${why}) and ${back.module} could not be started again: ${err.message as string}` }
      this.init.log.error('service %s: %s has an error spike (%s), and %s could not be started again: %e', service, failing.module, why, back.module, err)
      return
    }
    if (entry.pool !== bad || !this.init.isCurrent(entry)) {
      await pool.close({ drainMs: 0 })
      return
    }
    switchTo(entry, pool, back)
    entry.view = { ...entry.view, error: `${failing.module} rolled back: ${why}` }
    void bad.close()
    this.init.log.error('service %s: %s rolled back to %s: %s', service, failing.module, back.module, why)
  }
}
