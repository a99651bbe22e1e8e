import { Socket } from 'node:net'
import { setImmediate as turn } from 'node:timers/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { expect } from 'chai'
import { createLibp2p, type Libp2p } from 'libp2p'
import { coalescedTcp } from '../../lib/node/coalesced-tcp.js'

const PROTOCOL = '/test/sink/1.0.0'
const MESSAGES = 50

/** Socket writes from the dialler to the listener's port while `n` messages go one per turn. */
async function writesPerMessage (transport: typeof tcp): Promise<number> {
  const nodes: Libp2p[] = []
  try {
    const make = async (): Promise<Libp2p> => {
      const node = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [transport()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(node)
      return node
    }
    const [a, b] = [await make(), await make()]
    let received = 0
    await b.handle(PROTOCOL, (stream) => { stream.addEventListener('message', (evt) => { received += evt.data.byteLength }) })
    const addr = b.getMultiaddrs()[0]!
    const port = Number(addr.getComponents().find(c => c.name === 'tcp')!.value)
    const stream = await a.dialProtocol(addr, PROTOCOL)
    const write = Socket.prototype.write
    let writes = 0
    Socket.prototype.write = function (this: Socket, ...args: any[]) {
      if (this.remotePort === port) writes++
      return (write as any).apply(this, args)
    } as typeof write
    try {
      for (let i = 0; i < MESSAGES; i++) {
        stream.send(new Uint8Array(256))
        await turn()
      }
    } finally {
      Socket.prototype.write = write
    }
    const deadline = Date.now() + 10_000
    while (received < MESSAGES * 256 && Date.now() < deadline) await turn()
    expect(received).to.equal(MESSAGES * 256)
    return writes / MESSAGES
  } finally {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  }
}

describe('coalescedTcp (one socket write per message)', function () {
  this.timeout(30_000)

  it('sends each message of a Noise-encrypted yamux stream in one write, where @libp2p/tcp makes one per buffer of it', async () => {
    const plain = await writesPerMessage(tcp)
    const coalesced = await writesPerMessage(coalescedTcp as typeof tcp)
    // a message (yamux frame -> Noise message) is a length prefix and a ciphertext at least
    expect(plain, 'plain @libp2p/tcp').to.be.at.least(1.9)
    expect(coalesced, 'coalescedTcp').to.be.at.most(1.1)
  })
})
