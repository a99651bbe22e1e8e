import type { ServerResponse } from 'node:http'
import { API_PREFIX, type MemberEventView, type MembershipStats, type MemberStatus, type MemberView } from '../../lib/interface/api.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'

/** What the membership endpoints need (the Membership service provides it). */
export interface MembershipTarget {
  members(): MemberView[]
  member(peerId: string): MemberView
  labels(): Record<string, string>
  setLabel(key: string, value: string): Promise<Record<string, string>>
  removeLabel(key: string): Promise<Record<string, string>>
  recentEvents(): MemberEventView[]
  stats(): MembershipStats
  addEventListener(type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void): void
  removeEventListener(type: 'member', listener: (evt: CustomEvent<MemberEventView>) => void): void
}

const STATUSES: MemberStatus[] = ['alive', 'suspect', 'failed', 'left']

/** `?status=alive&label=zone=a&label=ssd` (a bare key matches any value). */
export function filterMembers (members: MemberView[], url: URL): MemberView[] {
  const status = url.searchParams.getAll('status')
  for (const s of status) {
    if (!STATUSES.includes(s as MemberStatus)) throw new InvalidRequestError(`unknown status ${JSON.stringify(s)}; use one of ${STATUSES.join(', ')}`)
  }
  const labels = url.searchParams.getAll('label').map(l => {
    const i = l.indexOf('=')
    return i < 0 ? { key: l } : { key: l.slice(0, i), value: l.slice(i + 1) }
  })
  return members.filter(m =>
    (status.length === 0 || status.includes(m.status)) &&
    labels.every(l => l.key in m.labels && (l.value == null || m.labels[l.key] === l.value)))
}

/**
 * NDJSON stream of member events: the history first, then live events until
 * the client goes away (or the daemon stops and closes the connection).
 */
function followEvents (target: MembershipTarget, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' })
  for (const e of target.recentEvents()) res.write(JSON.stringify(e) + '\n')
  const listener = (evt: CustomEvent<MemberEventView>): void => { res.write(JSON.stringify(evt.detail) + '\n') }
  target.addEventListener('member', listener)
  res.on('close', () => { target.removeEventListener('member', listener) })
}

export function membershipRoutes (target: MembershipTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/members`]: async (_req, url) => ({ body: filterMembers(target.members(), url) }),
    [`GET ${p}/members/*`]: async (_req, _url, _res, peerId) => ({ body: target.member(peerId) }),
    [`GET ${p}/membership/stats`]: async () => ({ body: target.stats() }),
    [`GET ${p}/labels`]: async () => ({ body: { labels: target.labels() } }),
    [`PUT ${p}/labels/*`]: async (req, _url, _res, key) => {
      const body = await readJson(req)
      if (typeof body.value !== 'string') throw new InvalidRequestError('body must be { "value": "<string>" }')
      return { body: { labels: await target.setLabel(key, body.value) } }
    },
    [`DELETE ${p}/labels/*`]: async (_req, _url, _res, key) => ({ body: { labels: await target.removeLabel(key) } }),
    [`GET ${p}/events`]: async (_req, url, res) => {
      const follow = url.searchParams.get('follow')
      if (follow === '1' || follow === 'true') {
        followEvents(target, res)
        return undefined
      }
      return { body: target.recentEvents() }
    }
  }
}
