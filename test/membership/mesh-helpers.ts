import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { MemberEventView, MemberStatus } from '../../lib/interface/api.js'
import { encodeMessage } from '../../lib/membership/wire.js'
import type { NoodleNode } from '../../lib/node/index.js'
import { waitFor } from '../utils/wait-for.js'

export function statusOf (viewer: NoodleNode, target: NoodleNode): MemberStatus | undefined {
  return viewer.services.membership.members().find(m => m.peerId === target.peerId.toString())?.status
}

export function allSee (viewers: NoodleNode[], target: NoodleNode, status: MemberStatus): boolean {
  return viewers.every(v => v === target || statusOf(v, target) === status)
}

export function record (node: NoodleNode): MemberEventView[] {
  const events: MemberEventView[] = []
  node.services.membership.addEventListener('member', (evt) => { events.push(evt.detail) })
  return events
}

/**
 * `target` never refutes, however it hears it is held down (gossiped claims,
 * a member list's down entries, a puller saying it holds it suspect or
 * failed): every path raises the incarnation through Incarnation.refute,
 * wrapped here. Wrapping the gossip path alone let a pull's `you` refute it,
 * and the stale verdict under test was then simply outranked.
 */
export function deafToClaimsAboutItself (target: NoodleNode): void {
  const membership = target.services.membership as unknown as { incarnation: { refute: (from: string, type: string, incarnation: number) => boolean } }
  membership.incarnation.refute = () => false
}

/** `listener` drops every membership message `speaker` wrote, whoever forwards it. */
export function deafen (listener: NoodleNode, speaker: NoodleNode): void {
  const topic = listener.services.membership.topic
  const validate = listener.services.pubsub.topicValidators.get(topic)!
  listener.services.pubsub.topicValidators.set(topic, async (peer, msg) =>
    msg.type === 'signed' && msg.from.equals(speaker.peerId) ? TopicValidatorResult.Ignore : validate(peer, msg))
}

/** `accuser` gossips a suspect or failed claim about `target` at `incarnation`. */
export async function claim (accuser: NoodleNode, type: 'suspect' | 'failed', target: NoodleNode, incarnation: number): Promise<void> {
  await accuser.services.pubsub.publish(accuser.services.membership.topic, encodeMessage({
    v: 1, type, target: target.peerId.toString(), incarnation
  }))
}

/**
 * `claim`, sent again every half second until `landed` holds: published before
 * the accuser's topic mesh has formed, a claim reaches nobody (CI timed out so
 * on two different tests, once each). The claim is the same each time, so a
 * repeat changes nothing that has already taken it. `landed` is checked every
 * 50 ms as before: some states it looks for (a failed verdict) may not last.
 */
export async function claimUntil (accuser: NoodleNode, type: 'suspect' | 'failed', target: NoodleNode, incarnation: number,
  landed: () => boolean, what: string): Promise<void> {
  let sentAt = -Infinity
  await waitFor(async () => {
    if (landed()) return true
    if (Date.now() - sentAt >= 500) {
      sentAt = Date.now()
      await claim(accuser, type, target, incarnation)
    }
    return landed()
  }, { what })
}

// N nodes bootstrapped from the first (options for all, then for the first only)
