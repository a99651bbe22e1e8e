import type { IdResponse, MemberEventView, MembershipStats, MemberView, StatusResponse } from '../../lib/interface/api.js'
import { api, follow } from './api.js'

/** Events kept for the overview. */
const RECENT_EVENTS = 50
/** Member events come in bursts (a failure is seen by every prober): one refresh per this many ms at most. */
const REFRESH_MS = 300

export interface State {
  id?: IdResponse
  status?: StatusResponse
  members: MemberView[]
  stats?: MembershipStats
  events: MemberEventView[]
  live: boolean
  error?: string
  updatedAt?: number
}

/**
 * What the console knows of the daemon, kept live by its member event
 * stream: an event schedules one refresh of the members and the stats
 * (coalesced, so a burst of events costs one request each), and the views
 * re-render from here. No polling: a quiet mesh costs nothing.
 */
export class Store {
  readonly state: State = { members: [], events: [], live: false }
  private readonly listeners = new Set<() => void>()
  private refreshTimer?: ReturnType<typeof setTimeout>
  private refreshing = false
  private again = false

  subscribe (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private changed (): void {
    this.state.updatedAt = Date.now()
    for (const l of this.listeners) l()
  }

  async start (signal: AbortSignal): Promise<void> {
    // everything the first render needs in one round, not two: on a busy host each request is slow
    const [id] = await Promise.all([api<IdResponse>('/id'), this.refresh()])
    this.state.id = id
    this.changed()
    void follow('/events?follow=1', (line) => { this.onEvent(line as MemberEventView) }, (live) => {
      this.state.live = live
      // after a break, what happened meanwhile is not in the stream: read it again
      if (live) this.refreshSoon()
      this.changed()
    }, signal)
  }

  private onEvent (e: MemberEventView): void {
    this.state.events = [e, ...this.state.events.filter(x => !(x.peerId === e.peerId && x.time === e.time && x.type === e.type))].slice(0, RECENT_EVENTS)
    this.refreshSoon()
    this.changed()
  }

  refreshSoon (): void {
    if (this.refreshTimer != null) return
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined
      void this.refresh()
    }, REFRESH_MS)
  }

  async refresh (): Promise<void> {
    if (this.refreshing) {
      this.again = true
      return
    }
    this.refreshing = true
    try {
      // each shown as it arrives: the members table need not wait for the stats
      await Promise.all([
        api<MemberView[]>('/members').then(members => {
          this.state.members = members
          // User Timing marks: when the data came and when it was drawn (the console scenario reads them)
          performance.mark('noodled:members')
          this.changed()
        }),
        api<MembershipStats>('/membership/stats').then(stats => { this.state.stats = stats; this.changed() }),
        api<StatusResponse>('/status').then(status => { this.state.status = status; this.changed() })
      ])
      delete this.state.error
    } catch (err: any) {
      this.state.error = `${String(err.name)}: ${String(err.message)}`
    } finally {
      this.refreshing = false
      this.changed()
      if (this.again) {
        this.again = false
        this.refreshSoon()
      }
    }
  }
}
