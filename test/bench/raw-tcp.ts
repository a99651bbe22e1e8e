import { connect, type Socket } from 'node:net'

/**
 * The physical limit for mesh RPC on one host: a length-prefixed echo over
 * one plain TCP connection between two processes, many calls in flight,
 * writes coalesced per turn of the event loop. It is what mesh RPC does
 * (frames on one long-lived stream, answers matched to requests), minus
 * Noise, yamux and the protocol's own framing and dispatch.
 *
 * The server, run with `node -e`: reads 4-byte big-endian length-prefixed
 * frames and writes each back, corked until the end of the turn. Prints its port.
 */
export const RAW_TCP_ECHO_SERVER = `
const net = require('node:net')
const server = net.createServer((socket) => {
  socket.setNoDelay(true)
  let buf = Buffer.alloc(0)
  let corked = false
  socket.on('data', (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    let at = 0
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at)
      if (buf.length - at - 4 < len) break
      if (!corked) { corked = true; socket.cork(); process.nextTick(() => { corked = false; socket.uncork() }) }
      socket.write(buf.subarray(at, at + 4 + len))
      at += 4 + len
    }
    buf = buf.subarray(at)
  })
  socket.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => { process.stdout.write(server.address().port + '\\n') })
`

/** The client side: one connection; a call writes a frame (coalesced per turn) and waits for its echo, answered in order. */
export class RawTcpClient {
  private readonly socket: Socket
  private readonly waiting: Array<{ resolve: () => void, reject: (err: Error) => void, bytes: number }> = []
  private pending: Buffer[] = []
  private scheduled = false
  private buf: Buffer = Buffer.alloc(0)

  private constructor (socket: Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => { this.received(chunk) })
    socket.on('error', (err) => { for (const w of this.waiting.splice(0)) w.reject(err) })
  }

  static async connect (port: number): Promise<RawTcpClient> {
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return new RawTcpClient(socket)
  }

  async call (payload: Uint8Array): Promise<void> {
    const frame = Buffer.allocUnsafe(4 + payload.byteLength)
    frame.writeUInt32BE(payload.byteLength, 0)
    frame.set(payload, 4)
    this.pending.push(frame)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)
        this.pending = []
        this.socket.write(out)
      })
    }
    await new Promise<void>((resolve, reject) => { this.waiting.push({ resolve, reject, bytes: payload.byteLength }) })
  }

  close (): void {
    this.socket.destroy()
  }

  private received (chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    let at = 0
    while (this.buf.length - at >= 4) {
      const len = this.buf.readUInt32BE(at)
      if (this.buf.length - at - 4 < len) break
      at += 4 + len
      const w = this.waiting.shift()
      if (w == null) continue
      if (len === w.bytes) w.resolve()
      else w.reject(new Error(`echo of ${len} bytes for a ${w.bytes}-byte call`))
    }
    this.buf = this.buf.subarray(at)
  }
}
