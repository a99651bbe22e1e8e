import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Logger, PeerId, PeerStore, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_PROBE_MESSAGE_BYTES } from './constants.js'
import { ProbeError } from './errors.js'
import { decodeJson, encodeJson, probeRequestSchema, probeResponseSchema, type ProbeRequest, type ProbeResponse } from './wire.js'

export interface ProberComponents {
  connectionManager: ConnectionManager
  registrar: Registrar
  peerStore: PeerStore
}

export interface ProberInit {
  protocol: string
  log: Logger
  /** this node's incarnation, sent with every ack */
  incarnation: () => number
  /** upper bound on an inbound probe exchange */
  handlerTimeoutMs: number
  onMalformed: () => void
}

let nonceCounter = 0

/**
 * SWIM probes over `${prefix}/probe/1.0.0`, one length-prefixed JSON request
 * and response per stream: `ping` -> `ack`, and `ping-req` (probe a target
 * for me) -> `ack` | `nack`. A paused or partitioned target never answers,
 * so every exchange is bounded by the caller's signal.
 */
export class Prober {
  private readonly components: ProberComponents
  private readonly init: ProberInit

  constructor (components: ProberComponents, init: ProberInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.init.protocol, (stream, connection) => {
      void this.handle(stream, connection)
    }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.init.protocol)
  }

  /** Direct probe; resolves with the RTT in ms and the target's incarnation. */
  async ping (target: PeerId, options: { signal: AbortSignal }): Promise<{ rttMs: number, incarnation?: number }> {
    const nonce = ++nonceCounter
    const started = performance.now()
    const res = await this.exchange(target, { type: 'ping', nonce }, options.signal)
    if (res.type !== 'ack' || res.nonce !== nonce) throw new ProbeError(`unexpected probe answer from ${target.toString()}`)
    return { rttMs: Math.round((performance.now() - started) * 10) / 10, ...(res.incarnation != null ? { incarnation: res.incarnation } : {}) }
  }

  /** Ask `helper` to probe `target`; true if the helper reached it. */
  async pingReq (helper: PeerId, target: PeerId, addrs: string[], timeoutMs: number, options: { signal: AbortSignal }): Promise<boolean> {
    const nonce = ++nonceCounter
    const res = await this.exchange(helper, { type: 'ping-req', nonce, target: target.toString(), addrs, timeoutMs }, options.signal)
    return res.type === 'ack' && res.nonce === nonce
  }

  private async exchange (peer: PeerId, req: ProbeRequest, signal: AbortSignal): Promise<ProbeResponse> {
    const stream = await this.components.connectionManager.openStream(peer, this.init.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_BYTES })
      await lp.write(encodeJson(req), { signal })
      const res = decodeJson(probeResponseSchema, (await lp.read({ signal })).subarray())
      await stream.close({ signal })
      return res
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.init.handlerTimeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_PROBE_MESSAGE_BYTES })
      let req: ProbeRequest
      try {
        req = decodeJson(probeRequestSchema, (await lp.read({ signal })).subarray())
      } catch (err) {
        this.init.onMalformed()
        throw err
      }
      let res: ProbeResponse
      if (req.type === 'ping') {
        res = { type: 'ack', nonce: req.nonce, incarnation: this.init.incarnation() }
      } else {
        res = await this.relay(req, signal)
      }
      await lp.write(encodeJson(res), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.init.log.trace('probe from %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }

  /** Probe a target on a requester's behalf (the indirect half of SWIM). */
  private async relay (req: Extract<ProbeRequest, { type: 'ping-req' }>, signal: AbortSignal): Promise<ProbeResponse> {
    try {
      const target = peerIdFromString(req.target)
      if (req.addrs.length > 0 && this.components.connectionManager.getConnections(target).length === 0) {
        await this.components.peerStore.merge(target, { multiaddrs: req.addrs.map(a => multiaddr(a)) }, { signal })
      }
      const inner = AbortSignal.any([signal, AbortSignal.timeout(req.timeoutMs)])
      await this.ping(target, { signal: inner })
      return { type: 'ack', nonce: req.nonce }
    } catch {
      return { type: 'nack', nonce: req.nonce }
    }
  }
}
