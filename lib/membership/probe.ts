import { peerIdFromString } from '@libp2p/peer-id'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Logger, PeerId, PeerStore, Stream } from '@libp2p/interface'
import { frame, onFrames } from '../frames.js'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_PROBE_MESSAGE_BYTES } from './constants.js'
import { ProbeError } from './errors.js'
import { probeRequestSchema, probeResponseSchema, type ProbeRequest, type ProbeResponse } from './wire.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { timeoutSignal } from '../signals.js'

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
  /** upper bound on answering one inbound request (an indirect probe waits for its target) */
  handlerTimeoutMs: number
  onMalformed: () => void
  /** a connected peer says it is leaving (of itself only: the connection names it) */
  onLeave: (peer: string, incarnation: number, seq: number) => void
}

let nonceCounter = 0

/**
 * One long-lived outbound probe stream to a peer. Requests carry nonces and
 * answers are matched to them, so any number of probes share the stream.
 * A stream per probe measured ~8 ms of CPU per exchange in a 20-daemon
 * mesh (protocol negotiation, yamux setup and teardown, a peer-store write on
 * each side); a message on an open stream is a fraction of that.
 */
class ProbeChannel {
  readonly stream: Stream
  private readonly pending = new Map<number, (res: ProbeResponse | Error) => void>()
  private closed = false

  constructor (stream: Stream, onClose: () => void) {
    this.stream = stream
    onFrames(stream, MAX_PROBE_MESSAGE_BYTES, (bytes) => {
      const res = decodeJson(probeResponseSchema, bytes)
      this.pending.get(res.nonce)?.(res)
    }, () => {})
    const done = (err: Error): void => {
      if (this.closed) return
      this.closed = true
      for (const settle of this.pending.values()) settle(err)
      this.pending.clear()
      onClose()
    }
    stream.addEventListener('close', (evt) => { done(evt.error ?? new ProbeError('probe stream closed')) }, { once: true })
    // the other side stops answering (it is stopping, or answers one probe per stream)
    stream.addEventListener('remoteCloseWrite', () => {
      done(new ProbeError('probe stream closed by the remote'))
      void stream.close().catch(() => {})
    }, { once: true })
  }

  get open (): boolean {
    return !this.closed && this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  async request (req: ProbeRequest, signal: AbortSignal): Promise<ProbeResponse> {
    signal.throwIfAborted()
    if (!this.open) throw new ProbeError('probe stream closed')
    let settle!: (res: ProbeResponse | Error) => void
    const promise = new Promise<ProbeResponse>((resolve, reject) => {
      settle = (res) => { res instanceof Error ? reject(res) : resolve(res) }
    })
    this.pending.set(req.nonce, settle)
    const onAbort = (): void => { settle(signal.reason instanceof Error ? signal.reason : new ProbeError('probe aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      // probes are tiny: a full send buffer is left to the stream to queue
      this.stream.send(frame(encodeJson(req)))
      return await promise
    } finally {
      this.pending.delete(req.nonce)
      signal.removeEventListener('abort', onAbort)
    }
  }
}

/**
 * SWIM probes over `${prefix}/probe/1.0.0`: length-prefixed JSON requests and
 * answers on one long-lived stream per peer and direction: `ping` -> `ack`,
 * and `ping-req` (probe a target for me) -> `ack` | `nack`. A paused or
 * partitioned target never answers, so every exchange is bounded by the
 * caller's signal. A peer that sends one request and closes (the first
 * version of this protocol) is answered the same way.
 */
export class Prober {
  private readonly components: ProberComponents
  private readonly init: ProberInit
  private readonly channels = new Map<string, Promise<ProbeChannel>>()

  constructor (components: ProberComponents, init: ProberInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.init.protocol, limitInbound(this.init.protocol, INBOUND_LIMITS.probe, (stream, connection) => {
      this.serve(stream, connection)
    }), { maxInboundStreams: 8, maxOutboundStreams: 8 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.init.protocol)
    const channels = [...this.channels.values()]
    this.channels.clear()
    for (const c of channels) c.then(ch => { ch.stream.abort(new ProbeError('prober stopped')) }, () => {})
  }

  /** Direct probe; resolves with the RTT in ms and the target's incarnation. */
  async ping (target: PeerId, options: { signal: AbortSignal }): Promise<{ rttMs: number, incarnation?: number }> {
    const nonce = ++nonceCounter
    const started = performance.now()
    const res = await this.exchange(target, { type: 'ping', nonce }, options.signal)
    if (res.type !== 'ack') throw new ProbeError(`unexpected probe answer from ${target.toString()}`)
    return { rttMs: Math.round((performance.now() - started) * 10) / 10, ...(res.incarnation != null ? { incarnation: res.incarnation } : {}) }
  }

  /**
   * Make sure a probe stream to `peer` is open (dialling if need be), so that
   * a probe's own timeout measures the answer, not a TCP + Noise + Yamux
   * handshake: on a busy host a fresh connection alone can take longer than
   * a probe timeout, and SWIM's probes (over UDP) never paid for one.
   */
  async prepare (peer: PeerId, options: { signal: AbortSignal }): Promise<void> {
    await this.channel(peer, options.signal)
  }

  /** Tell a connected peer this node is leaving; resolves when it has taken note. */
  async leave (peer: PeerId, incarnation: number, seq: number, options: { signal: AbortSignal }): Promise<void> {
    const res = await this.exchange(peer, { type: 'leave', nonce: ++nonceCounter, incarnation, seq }, options.signal)
    if (res.type !== 'ack') throw new ProbeError(`unexpected answer to a leave from ${peer.toString()}`)
  }

  /** Ask `helper` to probe `target`: reached, not reached, or the helper's dial was refused. */
  async pingReq (helper: PeerId, target: PeerId, addrs: string[], timeoutMs: number, options: { signal: AbortSignal }): Promise<'ack' | 'nack' | 'refused'> {
    const nonce = ++nonceCounter
    const res = await this.exchange(helper, { type: 'ping-req', nonce, target: target.toString(), addrs, timeoutMs }, options.signal)
    return res.type === 'ack' ? 'ack' : res.refused === true ? 'refused' : 'nack'
  }

  /** Outbound probe streams currently open (for tests and stats). */
  openChannels (): number {
    return this.channels.size
  }

  private async exchange (peer: PeerId, req: ProbeRequest, signal: AbortSignal): Promise<ProbeResponse> {
    const channel = await this.channel(peer, signal)
    return channel.request(req, signal)
  }

  private async channel (peer: PeerId, signal: AbortSignal): Promise<ProbeChannel> {
    const key = peer.toString()
    let entry = this.channels.get(key)
    if (entry != null) {
      const ch = await entry.catch(() => undefined)
      if (ch?.open === true) return ch
      if (this.channels.get(key) === entry) this.channels.delete(key)
    }
    entry = this.channels.get(key)
    if (entry == null) {
      entry = this.components.connectionManager.openStream(peer, this.init.protocol, { signal })
        .then(stream => new ProbeChannel(stream, () => { if (this.channels.get(key) === entry) this.channels.delete(key) }))
      this.channels.set(key, entry)
      entry.catch(() => { if (this.channels.get(key) === entry) this.channels.delete(key) })
    }
    return entry
  }

  /** Answer every request on an inbound probe stream until it closes. */
  private serve (stream: Stream, connection: Connection): void {
    onFrames(stream, MAX_PROBE_MESSAGE_BYTES, (bytes) => {
      const req = decodeJson(probeRequestSchema, bytes)
      void this.answer(req, connection.remotePeer.toString()).then(res => {
        // the requester may have gone while an indirect probe ran: answer only an open stream,
        // and never let a send on a stream that closed meanwhile escape as an unhandled rejection
        if (stream.status !== 'open' || stream.writeStatus !== 'writable') return
        try {
          stream.send(frame(encodeJson(res)))
        } catch (err) {
          this.init.log.trace('could not answer probe from %p: %e', connection.remotePeer, err)
        }
      })
    }, (err) => {
      this.init.onMalformed()
      this.init.log.trace('bad probe frame from %p: %e', connection.remotePeer, err)
    })
    stream.addEventListener('remoteCloseWrite', () => { void stream.close().catch(() => {}) })
  }

  private async answer (req: ProbeRequest, from: string): Promise<ProbeResponse> {
    if (req.type === 'ping') return { type: 'ack', nonce: req.nonce, incarnation: this.init.incarnation() }
    if (req.type === 'leave') {
      this.init.onLeave(from, req.incarnation, req.seq)
      return { type: 'ack', nonce: req.nonce }
    }
    return this.relay(req, timeoutSignal(this.init.handlerTimeoutMs))
  }

  /** Probe a target on a requester's behalf (the indirect half of SWIM). */
  private async relay (req: Extract<ProbeRequest, { type: 'ping-req' }>, signal: AbortSignal): Promise<ProbeResponse> {
    try {
      const target = peerIdFromString(req.target)
      if (req.addrs.length > 0 && this.components.connectionManager.getConnections(target).length === 0) {
        await this.components.peerStore.merge(target, { multiaddrs: req.addrs.map(a => multiaddr(a)) }, { signal })
      }
      const inner = AbortSignal.any([signal, timeoutSignal(req.timeoutMs)])
      await this.ping(target, { signal: inner })
      return { type: 'ack', nonce: req.nonce }
    } catch (err) {
      return isRefusal(err) ? { type: 'nack', nonce: req.nonce, refused: true } : { type: 'nack', nonce: req.nonce }
    }
  }
}

/**
 * True when a dial failed because the target's host refused the connection
 * (nothing listens there: the process is gone), as opposed to a timeout,
 * which a slow or overloaded prober can cause by itself. A dial of several
 * addresses (an AggregateError) is a refusal only when every address
 * refused: a member restarted at a new port leaves its old address behind,
 * which refuses while the new one merely timed out on a busy host.
 */
export function isRefusal (err: unknown, depth = 0): boolean {
  if (err == null || typeof err !== 'object' || depth > 6) return false
  const e = err as { code?: unknown, message?: unknown, cause?: unknown, errors?: unknown }
  if (e.code === 'ECONNREFUSED' || (typeof e.message === 'string' && e.message.includes('ECONNREFUSED'))) return true
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(x => isRefusal(x, depth + 1))
  return isRefusal(e.cause, depth + 1)
}
