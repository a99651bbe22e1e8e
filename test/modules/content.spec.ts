import { expect } from 'chai'
import { CID } from 'multiformats/cid'
import { CHUNK_BYTES } from '../../lib/modules/constants.js'
import { decodeRoot, packModule, rawBlock, unpackModule, verifyBlock } from '../../lib/modules/content.js'
import { parseManifest } from '../../lib/modules/manifest.js'
import { rejection } from '../utils/rejection.js'
import { bytes } from './fixtures.js'

const manifest = parseManifest({ name: 'echo', version: '1.0.0', entry: 'echo.wasm', exports: ['echo'] })

describe('module content addressing', () => {
  it('gives identical content identical CIDs, and different content different ones', async () => {
    const a = await packModule(manifest, bytes(1000))
    // the same manifest written with its keys in another order and its defaults spelt out
    const again = parseManifest({ exports: ['echo'], entry: 'echo.wasm', version: '1.0.0', name: 'echo', resources: { timeoutMs: 1000, memoryPages: 256 } })
    const b = await packModule(again, Uint8Array.from(bytes(1000)))
    expect(b.root.toString()).to.equal(a.root.toString())
    expect(a.root.toString()).to.match(/^bafyrei/) // CIDv1, dag-cbor, sha2-256
    expect((await packModule(manifest, bytes(1000, 2))).root.toString()).to.not.equal(a.root.toString())
    expect((await packModule(parseManifest({ ...manifest, version: '1.0.1' }), bytes(1000))).root.toString()).to.not.equal(a.root.toString())
  })

  it('stores a small wasm as one raw block whose CID is its sha-256, a large one in 1 MiB chunks', async () => {
    const small = await packModule(manifest, bytes(5000))
    expect(small.blocks).to.have.length(2)
    expect(small.wasm.chunks[0]!.equals(small.wasm.cid)).to.equal(true)
    expect(small.wasm.cid.toString()).to.equal((await rawBlock(bytes(5000))).cid.toString())
    expect(small.wasm.cid.toString()).to.match(/^bafkrei/) // CIDv1, raw, sha2-256

    const large = await packModule(manifest, bytes(2 * CHUNK_BYTES + 10))
    expect(large.wasm.chunks).to.have.length(3)
    expect(large.blocks.slice(1).map(b => b.bytes.byteLength)).to.deep.equal([CHUNK_BYTES, CHUNK_BYTES, 10])
    expect(large.wasm.cid.toString()).to.equal((await rawBlock(bytes(2 * CHUNK_BYTES + 10))).cid.toString())
  })

  it('reads a module back from its blocks, verifying each, and refuses bytes that do not match', async () => {
    const packed = await packModule(manifest, bytes(CHUNK_BYTES + 7))
    const store = new Map(packed.blocks.map(b => [b.cid.toString(), b.bytes]))
    const get = async (cid: CID): Promise<Uint8Array> => {
      const found = store.get(cid.toString())
      if (found == null) throw new Error(`no block ${cid.toString()}`)
      return found
    }
    const back = await unpackModule(packed.root, get)
    expect(back.manifest).to.deep.equal(manifest)
    expect(back.wasm).to.deep.equal(bytes(CHUNK_BYTES + 7))

    // one flipped byte in a chunk
    const chunk = packed.wasm.chunks[1]!
    const bad = Uint8Array.from(store.get(chunk.toString())!)
    bad[3] = bad[3]! ^ 0xff
    store.set(chunk.toString(), bad)
    const err = await rejection(unpackModule(packed.root, get))
    expect(err.name).to.equal('BlockVerificationError')
    expect(err.message).to.include(chunk.toString())

    expect((await rejection(verifyBlock(packed.root, bytes(10)))).name).to.equal('BlockVerificationError')
  })

  it('refuses a root block that is not a module: garbage, wrong shape, inconsistent sizes', async () => {
    const packed = await packModule(manifest, bytes(100))
    expect(() => decodeRoot(bytes(50))).to.throw(/not a module root/)
    const { encode } = await import('@ipld/dag-cbor')
    expect(() => decodeRoot(encode({ v: 2 }))).to.throw(/not a module root/)
    const root = decodeRoot(packed.blocks[0]!.bytes)
    expect(() => decodeRoot(encode({ ...root, wasm: { ...root.wasm, size: 3 * CHUNK_BYTES } }))).to.throw(/chunks for/)
    expect(() => decodeRoot(encode({ ...root, manifest: { name: 'x' } }))).to.throw(/manifest/)
  })
})
