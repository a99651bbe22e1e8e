import type { Connection, Logger, Stream } from '@libp2p/interface'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import type { Registrar } from '@libp2p/interface-internal'
import type { CID } from 'multiformats/cid'
import { FrameSender, onFrames } from '../frames.js'
import { BlockStatus, MAX_PIPELINE, MAX_REQUEST_BYTES, decodeRequest, encodeResponse, type BlockRequest, type BlockResponse } from './block-protocol.js'
import { linkedChunk } from './content.js'

/** Streams a peer may hold open to this node for blocks at once (a fetch uses one per provider). */
const MAX_INBOUND_STREAMS = 16
/** A stream with nothing asked for this long is closed. */
const IDLE_TIMEOUT_MS = 60_000

export interface BlockServerCounters {
  /** blocks sent */
  served: number
  servedBytes: number
  /** requests for blocks this node does not hold (or holds rotten) */
  notHere: number
  /** streams aborted for a malformed request or too many unanswered ones */
  refusedStreams: number
}

export interface BlockServerInit {
  protocol: string
  /** a block's bytes, verified against its CID; throws when this node does not hold a good copy */
  getBlock: (cid: CID, options: { signal: AbortSignal }) => Promise<Uint8Array>
  log: Logger
}

/**
 * Serves `/noodle/blocks/1.0.0` (block-protocol.ts) from this node's module
 * store. Requests on a stream are answered one at a time, in order; the next
 * block is read only once the last has been handed to the stream, so a slow
 * reader holds at most one block here. A malformed request, or more than
 * MAX_PIPELINE unanswered, aborts that stream and nothing else.
 */
export class BlockServer {
  readonly counters: BlockServerCounters = { served: 0, servedBytes: 0, notHere: 0, refusedStreams: 0 }
  private readonly registrar: Registrar
  private readonly init: BlockServerInit
  private controller = new AbortController()

  constructor (registrar: Registrar, init: BlockServerInit) {
    this.registrar = registrar
    this.init = init
  }

  async start (): Promise<void> {
    this.controller = new AbortController()
    await this.registrar.handle(this.init.protocol, limitInbound(this.init.protocol, INBOUND_LIMITS.blocks, (stream, connection) => { this.serve(stream, connection) }), {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_INBOUND_STREAMS
    })
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await this.registrar.unhandle(this.init.protocol)
  }

  private serve (stream: Stream, connection: Connection): void {
    const sender = new FrameSender(stream)
    const queue: BlockRequest[] = []
    let working = false
    let askerDone = false
    let idle: ReturnType<typeof setTimeout> | undefined
    const armIdle = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { void stream.close().catch(() => {}) }, IDLE_TIMEOUT_MS)
      idle.unref?.()
    }
    const closeIfDone = (): void => {
      if (askerDone && queue.length === 0 && !working) void sender.flushed().then(async () => { await stream.close() }).catch(() => {})
    }
    const work = async (): Promise<void> => {
      working = true
      while (queue.length > 0 && stream.writeStatus === 'writable') {
        const { cid, withLink } = queue.shift()!
        const response = await this.answer(cid)
        sender.send(encodeResponse(response))
        const link = withLink && response.status === BlockStatus.BLOCK ? linkedChunk(response.bytes) : undefined
        if (link != null) sender.send(encodeResponse(await this.answer(link)))
        await sender.flushed()
      }
      working = false
      armIdle()
      closeIfDone()
    }
    onFrames(stream, MAX_REQUEST_BYTES, (bytes) => {
      const request = decodeRequest(bytes)
      if (queue.length >= MAX_PIPELINE) throw new RangeError(`more than ${MAX_PIPELINE} unanswered block requests`)
      queue.push(request)
      clearTimeout(idle)
      if (!working) void work()
    }, (err) => {
      this.counters.refusedStreams++
      this.init.log('block stream from %p aborted: %e', connection.remotePeer, err)
    })
    stream.addEventListener('remoteCloseWrite', () => { askerDone = true; closeIfDone() }, { once: true })
    stream.addEventListener('close', () => { clearTimeout(idle); queue.length = 0 }, { once: true })
    armIdle()
  }

  private async answer (cid: CID): Promise<BlockResponse> {
    try {
      const bytes = await this.init.getBlock(cid, { signal: this.controller.signal })
      this.counters.served++
      this.counters.servedBytes += bytes.byteLength
      return { status: BlockStatus.BLOCK, bytes }
    } catch (err) {
      // not held, or held rotten (the store verifies what it reads): either way nothing good to send
      this.counters.notHere++
      this.init.log.trace('no block %s to serve: %e', cid, err)
      return { status: BlockStatus.NOT_HERE }
    }
  }
}
