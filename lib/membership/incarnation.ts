import type { Logger } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import type { LocalHealth } from './local-health.js'

const INCARNATION_KEY = new Key('/noodle/membership/incarnation')

export interface IncarnationInit {
  datastore: Datastore
  health: Pick<LocalHealth, 'refuted'>
  log: Logger
}

/**
 * This node's incarnation number (SWIM, Das et al. 2002, section 4.2): only
 * the node itself raises it, and a higher incarnation outranks every claim
 * about a lower one, so raising it refutes a suspicion. It is persisted, so a
 * restart outranks every advert and claim about the previous run.
 */
export class Incarnation {
  private readonly init: IncarnationInit
  private current = 0

  constructor (init: IncarnationInit) {
    this.init = init
  }

  get value (): number {
    return this.current
  }

  /** At start: one more than the last run's. */
  async load (): Promise<void> {
    let last = -1
    try {
      last = Number(JSON.parse(new TextDecoder().decode(await this.init.datastore.get(INCARNATION_KEY))))
    } catch {}
    this.current = (Number.isSafeInteger(last) ? last : -1) + 1
    await this.persist()
  }

  /**
   * Someone holds this node `type` at `incarnation`: outrank it. True when it
   * raised the incarnation (the caller sends the advert that carries it);
   * false for a claim about an older incarnation, which is outranked already.
   * Lifeguard counts a refutation against local health: being suspected
   * wrongly is a sign that this node is slow.
   */
  refute (from: string, type: 'suspect' | 'failed', incarnation: number): boolean {
    if (incarnation < this.current) return false
    this.current = incarnation + 1
    this.init.health.refuted()
    this.init.log('refuting %s claim from %s with incarnation %d', type, from, this.current)
    void this.persist()
    return true
  }

  private async persist (): Promise<void> {
    try {
      await this.init.datastore.put(INCARNATION_KEY, new TextEncoder().encode(String(this.current)))
    } catch (err) {
      this.init.log.error('could not persist incarnation: %e', err)
    }
  }
}
