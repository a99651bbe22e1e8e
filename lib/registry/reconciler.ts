import { TypedEventEmitter } from '@libp2p/interface'
import type { PlacementResult } from '../placement/place.js'
import type { ServiceSpec } from '../placement/spec.js'

/** A replica of a service that this node runs because placement made it an owner. */
export interface Instance {
  service: string
  /** the spec it runs, as of the last reconcile */
  spec: ServiceSpec
  /** epoch ms this node took it on */
  since: number
}

export interface ReconcilerEvents {
  /** this node became an owner: start the instance */
  'instance:start': CustomEvent<Instance>
  /** the spec of an instance this node runs changed (e.g. a new module version) */
  'instance:update': CustomEvent<Instance>
  /** this node is no longer an owner (service removed, or placement moved it) */
  'instance:stop': CustomEvent<Instance>
}

export interface ReconcileChanges {
  started: string[]
  updated: string[]
  stopped: string[]
}

/**
 * Brings what this node runs in line with placement: starts what it owns and
 * does not run, stops what it runs and no longer owns, and passes on spec
 * changes. Every node runs its own reconciler over the same placement, so
 * together they run exactly the owners' replicas with no coordinator.
 * Hysteresis lives in placement (a member back from failed gets nothing new
 * until it has settled), so a flapping member does not make replicas move.
 *
 * Until the runtime exists an instance is an assignment: recorded, advertised
 * and shown; the runtime will start and stop workers on these events.
 */
export class Reconciler extends TypedEventEmitter<ReconcilerEvents> {
  private readonly self: string
  private readonly running = new Map<string, { instance: Instance, specJson: string }>()

  constructor (self: string) {
    super()
    this.self = self
  }

  reconcile (placement: PlacementResult, specs: ServiceSpec[], now = Date.now()): ReconcileChanges {
    const changes: ReconcileChanges = { started: [], updated: [], stopped: [] }
    const owned = new Map<string, ServiceSpec>()
    for (const spec of specs) {
      if (placement.services.get(spec.name)?.owners.includes(this.self) === true) owned.set(spec.name, spec)
    }
    for (const [name, { instance }] of this.running) {
      if (owned.has(name)) continue
      this.running.delete(name)
      changes.stopped.push(name)
      this.safeDispatchEvent('instance:stop', { detail: instance })
    }
    for (const [name, spec] of owned) {
      const specJson = JSON.stringify(spec)
      const current = this.running.get(name)
      if (current == null) {
        const instance = { service: name, spec, since: now }
        this.running.set(name, { instance, specJson })
        changes.started.push(name)
        this.safeDispatchEvent('instance:start', { detail: instance })
      } else if (current.specJson !== specJson) {
        const instance = { ...current.instance, spec }
        this.running.set(name, { instance, specJson })
        changes.updated.push(name)
        this.safeDispatchEvent('instance:update', { detail: instance })
      }
    }
    return changes
  }

  /** Instances this node runs, by service name. */
  instances (): Instance[] {
    return [...this.running.values()].map(r => r.instance).sort((a, b) => a.service.localeCompare(b.service))
  }

  runs (service: string): boolean {
    return this.running.has(service)
  }

  /** Stop everything (the daemon is stopping). */
  clear (): void {
    for (const { instance } of this.running.values()) this.safeDispatchEvent('instance:stop', { detail: instance })
    this.running.clear()
  }
}
