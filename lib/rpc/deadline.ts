/**
 * One call's deadline and cancellation: a timer, the caller's signal if it
 * gave one, and plain callbacks for whoever waits on the call.
 *
 * The hot path makes no AbortSignal. On Node 20 every AbortSignal, with
 * what it holds, outlives the young-generation collections until the next
 * full one (even one nobody listens to); at thousands of calls a second
 * those survivors made every scavenge a 5-9 ms pause and set the tail
 * latency (docs/design.md, "Design choices and why": "RPC hot path"). `signal` is made
 * on demand for work that takes one (resolving a service the registry has
 * not cached, opening a connection); `options` hands it to such work only
 * if the work asks for it.
 */
export class CallDeadline {
  readonly timeoutMs: number
  readonly startedAt = performance.now()
  private controller?: AbortController
  private ended?: Error
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly parent?: AbortSignal
  private readonly onParentAbort?: () => void
  private waiter?: (reason: Error) => void
  /** @internal links of the ActiveDeadlines list this call is in, if any: only that list touches them */
  prevActive?: CallDeadline
  /** @internal */
  nextActive?: CallDeadline

  /**
   * @param expired makes the error a call gets when its deadline passes
   * @param parent the caller's own signal: aborting it ends the call with its reason
   */
  constructor (timeoutMs: number, expired: () => Error, parent?: AbortSignal) {
    this.timeoutMs = timeoutMs
    this.timer = setTimeout(() => { this.end(expired()) }, timeoutMs)
    if (parent != null) {
      this.parent = parent
      this.onParentAbort = () => { this.end(parent.reason instanceof Error ? parent.reason : new Error(String(parent.reason))) }
      parent.addEventListener('abort', this.onParentAbort, { once: true })
    }
  }

  /** Aborted when the deadline passes or the caller's signal aborts; its reason is the call's error. */
  get signal (): AbortSignal {
    if (this.controller == null) {
      this.controller = new AbortController()
      if (this.ended != null) this.controller.abort(this.ended)
    }
    return this.controller.signal
  }

  /** `{ signal }` for an API that takes options; the signal is made only if the API reads it. */
  get options (): { readonly signal: AbortSignal } {
    return new DeadlineOptions(this)
  }

  /** Set once the call has ended early: the deadline passed or the caller aborted. */
  get reason (): Error | undefined {
    return this.ended
  }

  /** Milliseconds left, at least 1: what travels with a request. */
  remainingMs (): number {
    return Math.max(1, Math.round(this.timeoutMs - (performance.now() - this.startedAt)))
  }

  /** `onEnd` is called (once) if the call ends early while it waits; `undefined` stops waiting. */
  wait (onEnd: ((reason: Error) => void) | undefined): void {
    this.waiter = onEnd
  }

  /** The call is over: stop the timer and leave the caller's signal alone. */
  clear (): void {
    clearTimeout(this.timer)
    this.waiter = undefined
    if (this.onParentAbort != null) this.parent?.removeEventListener('abort', this.onParentAbort)
  }

  /** End the call now with `reason` (the daemon is stopping): the waiter and the signal hear it. */
  abort (reason: Error): void {
    this.end(reason)
  }

  private end (reason: Error): void {
    if (this.ended != null) return
    this.ended = reason
    this.controller?.abort(reason)
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.(reason)
  }
}

/**
 * The calls in progress on a server, so that stopping can end them all: a
 * doubly linked list through the deadlines themselves. Not a Set: adding and
 * deleting a call's deadline in a Set, once a call, kept 0.4 MB a scavenge
 * of the callee's garbage past the young-generation collections at 24k
 * calls/s (the table V8 rebuilds as entries come and go holds them); an
 * unlinked deadline points at nothing.
 */
export class ActiveDeadlines {
  private head?: CallDeadline
  private count = 0

  get size (): number {
    return this.count
  }

  add (d: CallDeadline): void {
    d.prevActive = undefined
    d.nextActive = this.head
    if (this.head != null) this.head.prevActive = d
    this.head = d
    this.count++
  }

  /** Remove `d` (nothing if it is not in the list). */
  delete (d: CallDeadline): void {
    if (d.prevActive == null && this.head !== d) return
    if (d.prevActive != null) d.prevActive.nextActive = d.nextActive
    else this.head = d.nextActive
    if (d.nextActive != null) d.nextActive.prevActive = d.prevActive
    d.prevActive = undefined
    d.nextActive = undefined
    this.count--
  }

  /** Empty the list, then abort every call that was in it with `reason`. */
  abortAll (reason: Error): void {
    let d = this.head
    this.head = undefined
    this.count = 0
    while (d != null) {
      const next = d.nextActive
      d.prevActive = undefined
      d.nextActive = undefined
      d.abort(reason)
      d = next
    }
  }
}

/**
 * `{ signal }` with the signal made when read. A class, not an object
 * literal with a getter: V8 makes such a literal in dictionary mode, and
 * what its getter closes over then outlives every young-generation
 * collection until a full one. On the callee, where each call handed its
 * handler `{ ..., get signal () {...} }`, that was every call's deadline,
 * timer, request and payload: 1.35 MB promoted per scavenge at 24k calls/s
 * (96 % of what survived), scavenges of 3.7 ms, p99 23 ms; with a class,
 * 0.19 MB, 1.6 ms and 7 ms (docs/design.md, "RPC hot path").
 */
export class DeadlineOptions {
  private readonly deadline: CallDeadline

  constructor (deadline: CallDeadline) {
    this.deadline = deadline
  }

  get signal (): AbortSignal {
    return this.deadline.signal
  }
}
