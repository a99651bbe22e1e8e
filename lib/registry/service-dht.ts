import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'
import { raceSignal } from 'race-signal'
import type { KadDHT } from '@libp2p/kad-dht'
import { serviceKey } from '../placement/keys.js'
import { DHT_LOOKUP_TIMEOUT_MS, DHT_WRITE_TIMEOUT_MS } from './constants.js'
import { decodeServiceRecord, encodeServiceRecord, serviceCid } from './dht-record.js'
import type { CatalogEntry } from './entry.js'
import { timeoutSignal } from '../signals.js'

/**
 * What the registry keeps on the DHT: each catalog write as a signed record
 * under the service key, and this node as a provider of the service key's CID
 * for every instance it hosts. Everything here is best effort: gossip and
 * anti-entropy carry the catalog, adverts carry most instances; the DHT
 * answers for a node that has not caught up and for instances beyond what
 * adverts hold.
 */
export class ServiceDht {
  private readonly dht: KadDHT
  private readonly self: PeerId
  private readonly privateKey: PrivateKey
  private readonly log: Logger
  private readonly signal: AbortSignal
  private provideChain: Promise<void> = Promise.resolve()
  /** records found that failed validation */
  rejected = 0

  constructor (init: { dht: KadDHT, self: PeerId, privateKey: PrivateKey, log: Logger, signal: AbortSignal }) {
    this.dht = init.dht
    this.self = init.self
    this.privateKey = init.privateKey
    this.log = init.log
    this.signal = init.signal
  }

  /** Announce this node as a provider of the service (queued: each is a DHT walk). */
  announce (name: string): void {
    this.provideChain = this.provideChain.then(async () => {
      if (this.signal.aborted) return
      try {
        for await (const _ of this.dht.provide(await serviceCid(name), { signal: AbortSignal.any([this.signal, timeoutSignal(DHT_WRITE_TIMEOUT_MS)]) })) {}
      } catch (err) {
        this.log.trace('could not announce %s on the DHT: %e', name, err)
      }
    })
  }

  /** Peers with a provider record for the service (this node left out). */
  async providers (name: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const found = new Set<string>()
    const signal = this.lookupSignal(options)
    try {
      await raceSignal((async () => {
        for await (const event of this.dht.findProviders(await serviceCid(name), { signal })) {
          if (event.name !== 'PROVIDER') continue
          for (const p of event.providers) if (!p.id.equals(this.self)) found.add(p.id.toString())
        }
      })(), signal)
    } catch (err) {
      this.log.trace('provider lookup for %s ended: %e', name, err)
    }
    return [...found]
  }

  /** Every valid record for the service found on the DHT (invalid ones are counted). */
  async entries (name: string, options: { signal?: AbortSignal } = {}): Promise<CatalogEntry[]> {
    const key = serviceKey(name)
    const entries: CatalogEntry[] = []
    const signal = this.lookupSignal(options)
    try {
      // raced as well as passed: a get queued behind the DHT's own writes did not see
      // the signal and held a control API request for 30 s (found by fuzzing the API)
      await raceSignal((async () => {
        for await (const event of this.dht.get(key, { signal })) {
          if (event.name !== 'VALUE') continue
          try {
            entries.push(await decodeServiceRecord(key, event.value))
          } catch {
            this.rejected++
          }
        }
      })(), signal)
    } catch (err) {
      this.log.trace('DHT lookup of %s ended: %e', name, err)
    }
    return entries
  }

  /** Store a catalog write under the service key, signed by this node. */
  async store (entry: CatalogEntry): Promise<void> {
    try {
      const value = await encodeServiceRecord(entry, this.privateKey)
      for await (const _ of this.dht.put(serviceKey(entry.name), value, { signal: AbortSignal.any([this.signal, timeoutSignal(DHT_WRITE_TIMEOUT_MS)]) })) {}
    } catch (err) {
      this.log.trace('could not store %s on the DHT: %e', entry.name, err)
    }
  }

  private lookupSignal (options: { signal?: AbortSignal }): AbortSignal {
    return AbortSignal.any([this.signal, timeoutSignal(DHT_LOOKUP_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
  }
}
