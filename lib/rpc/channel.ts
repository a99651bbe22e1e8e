import type { Stream } from '@libp2p/interface'
import { InstanceUnreachableError, errorFromWire } from '../interface/errors.js'
import { FrameSender, onFrames } from '../frames.js'
import { FRAME_OVERHEAD_BYTES } from './constants.js'
import type { CallDeadline } from './deadline.js'
import { PendingCalls } from './pending-calls.js'
import { cancelFrame, requestFrame } from './wire.js'
import { Request, Response } from './pb/rpc.js'

interface Pending {
  settle: (res: Uint8Array | Error) => void
  idempotent: boolean
}

/**
 * The caller's side of one long-lived RPC stream to a peer: requests carry
 * ids and answers are matched to them, so any number of calls share the
 * stream (a stream per call costs a protocol negotiation each time: ~1.5 k
 * calls/s; docs/design.md, "Traps measured on this stack"). When the stream ends, every call still
 * waiting fails with InstanceUnreachableError, which callers may retry.
 */
export class RpcChannel {
  readonly stream: Stream
  private readonly sender: FrameSender
  private readonly pending = new PendingCalls<Pending>()
  private nextId = 1
  private closed = false
  private closeReason?: Error

  constructor (stream: Stream, maxMessageBytes: number, onClose: () => void) {
    this.stream = stream
    this.sender = new FrameSender(stream)
    onFrames(stream, maxMessageBytes + FRAME_OVERHEAD_BYTES, (bytes) => {
      const res = Response.decode(bytes)
      const pending = this.pending.get(res.id)
      if (pending == null) return // answered after its caller gave up
      this.pending.delete(res.id)
      pending.settle(res.error != null ? errorFromWire(res.error, 0) : res.payload)
    }, (err) => {
      this.fail(new InstanceUnreachableError(`malformed answer from ${stream.id}: ${err.message}`))
    })
    stream.addEventListener('close', (evt) => {
      this.fail(new InstanceUnreachableError(`rpc stream closed${evt.error != null ? `: ${evt.error.message}` : ''}`))
      onClose()
    }, { once: true })
    stream.addEventListener('remoteCloseWrite', () => {
      this.fail(new InstanceUnreachableError('rpc stream closed by the remote'))
      onClose()
      stream.close().catch(() => {})
    }, { once: true })
  }

  get open (): boolean {
    return !this.closed && this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** Calls waiting for their answer on this stream. */
  get outstanding (): number {
    return this.pending.size
  }

  /** Fail every waiting call (the member was declared suspect or failed, or the stream ended). */
  fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    this.closeReason = err
    const waiting = this.pending.entries()
    this.pending.clear()
    for (const [, p] of waiting) p.settle(err)
  }

  /**
   * Let go of the idempotent calls waiting here (they may run again
   * elsewhere); the others keep waiting for their answer. For a member that
   * is suspected, not yet failed: often it is only slow.
   */
  releaseIdempotent (err: Error): number {
    let released = 0
    for (const [id, p] of this.pending.entries()) {
      if (!p.idempotent) continue
      this.pending.delete(id)
      p.settle(err)
      released++
    }
    return released
  }

  private cancel (id: number): void {
    if (!this.open) return
    try {
      this.sender.send(cancelFrame(id))
    } catch {
      // the stream is closing: the callee's deadline ends the call
    }
  }

  /**
   * Send `req` and resolve with its answer. Not an async function: one
   * promise and one closure a call, no async frame kept for the call's life
   * (a call's garbage is what young-generation collections pay for, and they
   * set the tail latency; docs/design.md, "RPC hot path").
   */
  call (req: Omit<Request, 'id' | 'cancel'>, deadline: CallDeadline): Promise<Uint8Array> {
    if (!this.open) return Promise.reject(this.closeReason ?? new InstanceUnreachableError('rpc stream closed'))
    if (deadline.reason != null) return Promise.reject(deadline.reason)
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    return new Promise<Uint8Array>((resolve, reject) => {
      // every way the call ends goes through here, once: its answer, the stream's end, its deadline
      const settle = (res: Uint8Array | Error): void => {
        const waiting = this.pending.delete(id)
        deadline.wait(undefined)
        // the caller gave up before the deadline: tell the callee, so it stops working on it
        // (at the deadline the callee's own timer ends the call: nothing to send)
        if (waiting && res === deadline.reason && res.name !== 'DeadlineExceededError') this.cancel(id)
        res instanceof Error ? reject(res) : resolve(res)
      }
      this.pending.set(id, { settle, idempotent: req.idempotent })
      deadline.wait(settle)
      try {
        this.sender.send(requestFrame({ service: req.service, fn: req.fn, timeoutMs: req.timeoutMs, idempotent: req.idempotent, payload: req.payload, id }))
      } catch (err: any) {
        settle(err instanceof Error ? err : new Error(String(err)))
      }
    })
  }
}
