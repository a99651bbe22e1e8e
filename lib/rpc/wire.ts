import type { Request, Response } from './pb/rpc.js'

/**
 * A Request or a Response as one frame of `/noodle/rpc/1.0.0` (an unsigned
 * varint length, then the message; lib/rpc/pb/rpc.proto), written straight
 * into one buffer. The bytes are exactly those of
 * `frame(Request.encode(req))` (test/rpc/wire.spec.ts compares them); the
 * generated encoder is the reference and still decodes. Per call it made a
 * writer, a list of pending writes, a buffer, a varint buffer and a
 * Uint8ArrayList for the frame: about 1.3 KB of garbage a call on each side,
 * the largest entry in the caller's allocation profile once nothing outlived
 * the young generation any more (docs/design.md, "RPC hot path").
 * Buffers below 4 KiB come from Node's shared pool rather than each being an
 * ArrayBuffer of its own.
 */
export function requestFrame (req: Omit<Request, 'cancel'> & { cancel?: boolean }): Uint8Array {
  const serviceBytes = req.service === '' ? 0 : Buffer.byteLength(req.service)
  const fnBytes = req.fn === '' ? 0 : Buffer.byteLength(req.fn)
  const payloadBytes = req.payload.byteLength
  const size =
    (req.id !== 0 ? 1 + varintLength(req.id) : 0) +
    delimited(serviceBytes) +
    delimited(fnBytes) +
    (req.timeoutMs !== 0 ? 1 + varintLength(req.timeoutMs) : 0) +
    (req.idempotent ? 2 : 0) +
    delimited(payloadBytes) +
    (req.cancel === true ? 2 : 0)
  const buf = Buffer.allocUnsafe(varintLength(size) + size)
  let at = writeVarint(buf, 0, size)
  if (req.id !== 0) { buf[at++] = 0x08; at = writeVarint(buf, at, req.id) }
  if (serviceBytes > 0) at = writeString(buf, at, 0x12, req.service, serviceBytes)
  if (fnBytes > 0) at = writeString(buf, at, 0x1a, req.fn, fnBytes)
  if (req.timeoutMs !== 0) { buf[at++] = 0x20; at = writeVarint(buf, at, req.timeoutMs) }
  if (req.idempotent) { buf[at++] = 0x28; buf[at++] = 1 }
  if (payloadBytes > 0) { buf[at++] = 0x32; at = writeVarint(buf, at, payloadBytes); buf.set(req.payload, at); at += payloadBytes }
  if (req.cancel === true) { buf[at++] = 0x38; buf[at++] = 1 }
  return buf
}

const NO_BYTES = new Uint8Array(0)

/** The frame that cancels call `id` on its stream. */
export function cancelFrame (id: number): Uint8Array {
  return requestFrame({ id, service: '', fn: '', timeoutMs: 0, idempotent: false, payload: NO_BYTES, cancel: true })
}

/** A Response as one frame: see requestFrame. */
export function responseFrame (res: Response): Uint8Array {
  const payloadBytes = res.payload.byteLength
  let errorBytes = 0
  let nameBytes = 0
  let messageBytes = 0
  if (res.error != null) {
    nameBytes = res.error.name === '' ? 0 : Buffer.byteLength(res.error.name)
    messageBytes = res.error.message === '' ? 0 : Buffer.byteLength(res.error.message)
    errorBytes = delimited(nameBytes) + delimited(messageBytes)
  }
  const size =
    (res.id !== 0 ? 1 + varintLength(res.id) : 0) +
    (res.error != null ? 1 + varintLength(errorBytes) + errorBytes : 0) +
    delimited(payloadBytes)
  const buf = Buffer.allocUnsafe(varintLength(size) + size)
  let at = writeVarint(buf, 0, size)
  if (res.id !== 0) { buf[at++] = 0x08; at = writeVarint(buf, at, res.id) }
  if (res.error != null) {
    buf[at++] = 0x12
    at = writeVarint(buf, at, errorBytes)
    if (nameBytes > 0) at = writeString(buf, at, 0x0a, res.error.name, nameBytes)
    if (messageBytes > 0) at = writeString(buf, at, 0x12, res.error.message, messageBytes)
  }
  if (payloadBytes > 0) { buf[at++] = 0x1a; at = writeVarint(buf, at, payloadBytes); buf.set(res.payload, at) }
  return buf
}

/** Bytes of a length-delimited field of `n` bytes (tag, length, bytes); none when empty, as proto3 leaves it out. */
function delimited (n: number): number {
  return n > 0 ? 1 + varintLength(n) + n : 0
}

/** Write a string field (`tag`, then its `n` UTF-8 bytes, length first) at `at`; the offset after it. */
function writeString (buf: Buffer, at: number, tag: number, s: string, n: number): number {
  buf[at++] = tag
  at = writeVarint(buf, at, n)
  return at + buf.write(s, at, 'utf8')
}

/** Bytes of `n` (an unsigned 32-bit integer) as a varint. */
function varintLength (n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5
}

/** Write `n` as a varint at `at`; the offset after it. */
function writeVarint (buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  buf[at++] = n
  return at
}
