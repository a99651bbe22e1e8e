import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { ForgedAdvertError } from '../interface/errors.js'
import type { AddressBook } from './address-book.js'
import type { Advertiser } from './advertiser.js'
import { MAX_ADVERT_BYTES, MAX_TOPIC_MESSAGE_BYTES } from './constants.js'
import type { MembershipContext, RejectReason } from './context.js'
import type { Incarnation } from './incarnation.js'
import type { MemberEvent } from './member-table.js'
import { openSignedAdvert, OversizedAdvertError, type SignedAdvert } from './relay.js'
import { suspicionTimeoutWith } from './suspicion.js'
import { decodeMessage, type Advert, type FailedClaim, type Relay, type SuspectClaim, type TopicMessage } from './wire.js'

export interface MemberGossipInit {
  topic: string
  context: Pick<MembershipContext, 'self' | 'timing' | 'table' | 'health' | 'counters' | 'log' | 'emit' | 'reject'>
  advertiser: Pick<Advertiser, 'publish' | 'request'>
  incarnation: Pick<Incarnation, 'refute'>
  addresses: Pick<AddressBook, 'remember'>
}

/** Why a relayed or pushed advert failed openSignedAdvert, as counted. */
function signedAdvertRejection (err: unknown): RejectReason {
  return err instanceof OversizedAdvertError ? 'oversized' : err instanceof ForgedAdvertError ? 'impersonation' : 'malformed'
}

/**
 * What arrives on the membership topic, and adverts pushed with member-list
 * pulls: the topic validator (which runs before gossipsub delivers or
 * forwards, so a refused message also costs the forwarding peer score),
 * adverts applied to the member table, relayed adverts opened and checked,
 * and suspect and failed claims, refuted when they are about this node.
 */
export class MemberGossip {
  private readonly init: MemberGossipInit
  private readonly ctx: MemberGossipInit['context']
  /** messages decoded by the topic validator, so delivery does not parse them again */
  private readonly decoded = new WeakMap<Uint8Array, TopicMessage>()
  /** relay messages this node's validator opened, by message bytes */
  private readonly relayed = new WeakMap<Uint8Array, Advert>()

  constructor (init: MemberGossipInit) {
    this.init = init
    this.ctx = init.context
  }

  private reject (reason: RejectReason): TopicValidatorResult {
    this.ctx.reject(reason)
    return reason === 'replay' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
  }

  /** The gossipsub topic validator. */
  validate (msg: Message): TopicValidatorResult | Promise<TopicValidatorResult> {
    if (msg.data.length > MAX_TOPIC_MESSAGE_BYTES) return this.reject('oversized')
    if (msg.type !== 'signed') return this.reject('unsigned')
    let decoded: TopicMessage
    try {
      decoded = decodeMessage(msg.data)
    } catch {
      return this.reject('malformed')
    }
    this.decoded.set(msg.data, decoded)
    if (decoded.type === 'advert') {
      if (msg.data.length > MAX_ADVERT_BYTES) return this.reject('oversized')
      if (decoded.peerId !== msg.from.toString()) return this.reject('impersonation')
      if (this.ctx.table.isStale(decoded)) return this.reject('replay')
    }
    if (decoded.type === 'relay') return this.validateRelay(msg.data, decoded)
    return TopicValidatorResult.Accept
  }

  /** A relayed advert must be signed by its member, and newer than what this node holds. */
  private async validateRelay (data: Uint8Array, relay: Relay): Promise<TopicValidatorResult> {
    let advert: Advert
    try {
      advert = await openSignedAdvert(relay)
    } catch (err) {
      return this.reject(signedAdvertRejection(err))
    }
    if (advert.peerId === this.ctx.self || this.ctx.table.isStale(advert)) return this.reject('replay')
    this.relayed.set(data, advert)
    return TopicValidatorResult.Accept
  }

  /** A message delivered on the topic (validated already, unless it is this node's own). */
  receive (msg: Message): void {
    if (msg.topic !== this.init.topic || msg.type !== 'signed') return
    let decoded = this.decoded.get(msg.data)
    if (decoded == null) {
      try {
        decoded = decodeMessage(msg.data)
      } catch {
        return
      }
    }
    const { counters } = this.ctx
    counters.bytesReceived += msg.data.length
    const from = msg.from.toString()
    if (decoded.type === 'advert') {
      counters.advertsReceived++
      if (decoded.peerId !== from) return
      this.applyAdvert(decoded)
    } else if (decoded.type === 'relay') {
      // only what this node's validator opened and checked
      const advert = this.relayed.get(msg.data)
      if (advert == null) return
      counters.advertsReceived++
      this.applyAdvert(advert)
    } else {
      counters.claimsReceived++
      this.claimReceived(from, decoded)
    }
  }

  /**
   * A neighbour pushed its own advert with a member-list pull, or answered
   * this node's pull with it: taken like one gossiped, and passed on to the
   * mesh when it tells this node of a member it did not know (a newcomer) or
   * held suspect or failed, because the member's own gossip may not reach
   * anyone for a while (gossipsub needs identify, a stream and a graft first).
   */
  async pushReceived (from: PeerId, signed: SignedAdvert): Promise<void> {
    let advert: Advert
    try {
      advert = await openSignedAdvert(signed)
    } catch (err) {
      this.reject(signedAdvertRejection(err))
      this.ctx.log.trace('bad advert pushed by %p: %e', from, err)
      return
    }
    // a member pushes only itself
    if (advert.peerId !== from.toString()) {
      this.reject('impersonation')
      return
    }
    const event = this.applyAdvert(advert)
    if (event?.type === 'join' || event?.type === 'recovered') {
      this.ctx.counters.advertsRelayed++
      await this.init.advertiser.publish({ v: 1, type: 'relay', ...signed })
    }
  }

  /** A member's own advert (gossiped, relayed or pushed), checked by the caller. */
  private applyAdvert (advert: Advert): MemberEvent | undefined {
    const event = this.ctx.table.applyAdvert(advert, Date.now())
    if (event != null) {
      // recovered too: a member restarted after a crash comes back at new addresses
      if (event.type !== 'left') void this.init.addresses.remember(advert, true)
      this.ctx.emit(event)
    }
    return event
  }

  private claimReceived (from: string, claim: SuspectClaim | FailedClaim): void {
    const { table, self, counters } = this.ctx
    if (claim.target === self) {
      if (this.init.incarnation.refute(from, claim.type, claim.incarnation)) this.init.advertiser.request()
      return
    }
    if (claim.type === 'failed' && this.refutedSince(claim.target, claim.incarnation)) {
      // this node holds the member's own advert, newer than a suspicion of this
      // incarnation (that is why it recovered here); the claimant has not seen it
      // yet and will recover the member itself when it does: passing its verdict
      // on would fail a live member everywhere
      counters.claimsIgnored++
      this.ctx.log('ignoring failed claim about %s from %s: it advertised since it was suspected', claim.target, from)
      return
    }
    const event = claim.type === 'suspect'
      ? table.suspect(claim.target, from, claim.incarnation, Date.now())
      : table.fail(claim.target, claim.incarnation, Date.now())
    // a refused dial is evidence for everyone, not only for the member that dialled
    if (claim.type === 'suspect' && claim.refused === true) table.markRefused(claim.target)
    if (event != null) this.ctx.emit({ ...event, by: from, reason: 'claim' })
  }

  /**
   * True when `peerId` is alive at `incarnation` and came back from suspect
   * or failed through its own advert within the longest suspicion timeout:
   * a verdict about that incarnation reaching us now most likely rests on
   * the suspicion that advert answered.
   */
  private refutedSince (peerId: string, incarnation: number): boolean {
    const { table, timing, health } = this.ctx
    const m = table.get(peerId)
    if (m?.status !== 'alive' || m.incarnation !== incarnation || m.recoveredAt == null) return false
    return Date.now() - m.recoveredAt < suspicionTimeoutWith(timing, table.liveCount(), 0, health.multiplier)
  }
}
