import { TypedEventEmitter } from '@libp2p/interface'
import type { PlacementResult } from '../placement/place.js'
import type { ServiceSpec } from '../placement/spec.js'

/**
 * A replica of a service that this node runs because placement made it an
 * owner. (A replica of a module service runs as one or more sandboxed
 * workers: see lib/runtime. "Instance" in the control API is any endpoint a
 * call can go to: a replica, an external service, a provider.)
 */
export interface Replica {
  service: string
  /** the spec it runs, as of the last reconcile */
  spec: ServiceSpec
  /** epoch ms this node took it on */
  since: number
}

export interface ReconcilerEvents {
  /** this node became an owner: start the replica */
  'replica:start': CustomEvent<Replica>
  /** the spec of a replica this node runs changed (e.g. a new module version) */
  'replica:update': CustomEvent<Replica>
  /** this node is no longer an owner (service removed, or placement moved it) */
  'replica:stop': CustomEvent<Replica>
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
 * The runtime starts and stops a module service's workers on these events.
 */
export class Reconciler extends TypedEventEmitter<ReconcilerEvents> {
  private readonly self: string
  private readonly running = new Map<string, { replica: Replica, specJson: string }>()

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
    for (const [name, { replica }] of this.running) {
      if (owned.has(name)) continue
      this.running.delete(name)
      changes.stopped.push(name)
      this.safeDispatchEvent('replica:stop', { detail: replica })
    }
    for (const [name, spec] of owned) {
      const specJson = JSON.stringify(spec)
      const current = this.running.get(name)
      if (current == null) {
        const replica = { service: name, spec, since: now }
        this.running.set(name, { replica, specJson })
        changes.started.push(name)
        this.safeDispatchEvent('replica:start', { detail: replica })
      } else if (current.specJson !== specJson) {
        const replica = { ...current.replica, spec }
        this.running.set(name, { replica, specJson })
        changes.updated.push(name)
        this.safeDispatchEvent('replica:update', { detail: replica })
      }
    }
    return changes
  }

  /** Replicas this node runs, by service name. */
  replicas (): Replica[] {
    return [...this.running.values()].map(r => r.replica).sort((a, b) => a.service.localeCompare(b.service))
  }

  runs (service: string): boolean {
    return this.running.has(service)
  }

  /** Stop everything (the daemon is stopping). */
  clear (): void {
    for (const { replica } of this.running.values()) this.safeDispatchEvent('replica:stop', { detail: replica })
    this.running.clear()
  }
}
