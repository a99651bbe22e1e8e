import type { Logger, PeerStore } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ADDRS_REFRESH_MS } from './constants.js'
import type { Advert } from './wire.js'

export interface AddressBookInit {
  peerStore: PeerStore
  log: Logger
  signal: () => AbortSignal | undefined
}

/**
 * Members' addresses, written to the peer store where dials find them. Each
 * write is a level put, so an unchanged advert does not write again, except
 * every ADDRS_REFRESH_MS so the peer store does not age the addresses out.
 */
export class AddressBook {
  private readonly init: AddressBookInit
  /** addresses last written, per member */
  private readonly stored = new Map<string, { key: string, at: number }>()

  constructor (init: AddressBookInit) {
    this.init = init
  }

  /**
   * `own`: the addresses come from the member's own advert, so when they
   * changed they replace what was stored: the addresses of a run before a
   * restart refuse every dial, and a probe that reaches only those suspects
   * a live member. A list passed on by a neighbour only adds.
   */
  async remember (advert: Pick<Advert, 'peerId' | 'addrs'>, own = false): Promise<void> {
    const key = advert.addrs.join(' ')
    const now = Date.now()
    const stored = this.stored.get(advert.peerId)
    if (stored?.key === key && now - stored.at < ADDRS_REFRESH_MS) return
    this.stored.set(advert.peerId, { key, at: now })
    const replace = own && stored?.key !== key && advert.addrs.length > 0
    try {
      const peer = peerIdFromString(advert.peerId)
      const update = { multiaddrs: advert.addrs.map(a => multiaddr(a)) }
      const options = { signal: this.init.signal() }
      if (replace) await this.init.peerStore.patch(peer, update, options)
      else await this.init.peerStore.merge(peer, update, options)
    } catch (err) {
      this.stored.delete(advert.peerId)
      this.init.log.trace('could not store addresses of %s: %e', advert.peerId, err)
    }
  }

  /** A member reaped from the table. */
  forget (peerId: string): void {
    this.stored.delete(peerId)
  }
}
