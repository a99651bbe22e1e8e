/** Slots in the ring: calls outstanding at once before the oldest become stragglers. */
const RING_SIZE = 1024
const MASK = RING_SIZE - 1

/**
 * The calls waiting for their answer on one channel, by request id.
 *
 * Not a Map. A Map that gains and loses an entry per call is rebuilt by V8
 * as entries come and go, and once one of its retired tables has reached
 * the old generation it keeps the next one, and every entry those held,
 * past the young-generation collections until a full one. Measured on the
 * caller after a closed loop at peak (which leaves the map large): an open
 * loop at 28k calls/s then promoted 2.3 MB per scavenge, every call's
 * promise, closure, deadline and timer (scavenges of 4 ms, p99 32 ms),
 * against 37 KB before that loop (docs/design.md, "RPC hot path").
 *
 * Ids are handed out in sequence, so a call's slot is its id modulo the
 * ring, free unless a call has waited for more than RING_SIZE later calls
 * to be sent; that call then moves to a small Map of stragglers. The ring
 * is written and cleared in place: nothing is rebuilt per call.
 */
export class PendingCalls<T> {
  private readonly ids = new Float64Array(RING_SIZE)
  private readonly values: Array<T | undefined> = new Array<T | undefined>(RING_SIZE).fill(undefined)
  private readonly stragglers = new Map<number, T>()
  private count = 0

  get size (): number {
    return this.count
  }

  get (id: number): T | undefined {
    const slot = id & MASK
    if (this.ids[slot] === id && this.values[slot] !== undefined) return this.values[slot]
    return this.stragglers.size > 0 ? this.stragglers.get(id) : undefined
  }

  /** Add the call `id` (ids must not repeat while their call waits). */
  set (id: number, value: T): void {
    const slot = id & MASK
    const occupant = this.values[slot]
    if (occupant !== undefined) this.stragglers.set(this.ids[slot]!, occupant)
    this.ids[slot] = id
    this.values[slot] = value
    this.count++
  }

  /** Remove the call `id`; false if it was not waiting. */
  delete (id: number): boolean {
    const slot = id & MASK
    if (this.ids[slot] === id && this.values[slot] !== undefined) {
      this.values[slot] = undefined
      this.count--
      return true
    }
    if (this.stragglers.delete(id)) {
      this.count--
      return true
    }
    return false
  }

  /** Every waiting call, as [id, value]: a copy, so the caller may delete while it goes. */
  entries (): Array<[number, T]> {
    const all: Array<[number, T]> = []
    for (let slot = 0; slot < RING_SIZE; slot++) {
      const v = this.values[slot]
      if (v !== undefined) all.push([this.ids[slot]!, v])
    }
    for (const e of this.stragglers) all.push(e)
    return all
  }

  clear (): void {
    this.values.fill(undefined)
    this.stragglers.clear()
    this.count = 0
  }
}
