import { expect } from 'chai'
import { BlockStatus, decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../lib/modules/block-protocol.js'
import { rawBlock } from '../../lib/modules/content.js'
import { MAX_PENALTY_MS, PENALTY_MS, ProviderPenalties } from '../../lib/modules/penalties.js'
import { bytes } from './fixtures.js'

/** The frame's body, without its varint length prefix (these are all shorter than 128 bytes). */
const body = (frame: { subarray: () => Uint8Array }): Uint8Array => frame.subarray().subarray(1)

describe('block protocol and provider penalties', () => {
  it('round-trips requests (with and without WITH_LINK) and responses, and refuses anything else by name', async () => {
    const { cid } = await rawBlock(bytes(100))
    expect(decodeRequest(body(encodeRequest(cid)))).to.deep.equal({ cid, withLink: false })
    expect(decodeRequest(body(encodeRequest(cid, true)))).to.deep.equal({ cid, withLink: true })
    expect(() => decodeRequest(Uint8Array.of(1, 2, 3))).to.throw(/not a CID/).with.property('name', 'BlockVerificationError')
    expect(() => decodeRequest(Uint8Array.of(...cid.bytes, 0x01, 0x00))).to.throw(/2 unknown trailing bytes/)
    expect(() => decodeRequest(Uint8Array.of(...cid.bytes, 0x07))).to.throw(/unknown trailing/)

    expect(decodeResponse(body(encodeResponse({ status: BlockStatus.NOT_HERE })))).to.deep.equal({ status: BlockStatus.NOT_HERE })
    const block = decodeResponse(Uint8Array.of(BlockStatus.BLOCK, 9, 8, 7))
    expect(block.status).to.equal(BlockStatus.BLOCK)
    expect(block.status === BlockStatus.BLOCK && [...block.bytes]).to.deep.equal([9, 8, 7])
    expect(() => decodeResponse(new Uint8Array(0))).to.throw(/status missing/)
    expect(() => decodeResponse(Uint8Array.of(7))).to.throw(/status 7/)
    expect(() => decodeResponse(Uint8Array.of(BlockStatus.NOT_HERE, 1))).to.throw(/status 1 and 2 bytes/)
  })

  it('passes a provider over for PENALTY_MS, doubling with each offence up to a day, and forgives after', () => {
    let now = 1_000_000
    const penalties = new ProviderPenalties(() => now)
    expect(penalties.isPenalised('p')).to.equal(false)
    expect(penalties.penalise('p', 'bad bytes').until).to.equal(now + PENALTY_MS)
    expect(penalties.isPenalised('p')).to.equal(true)
    expect(penalties.list().map(p => p.peerId)).to.deep.equal(['p'])
    now += PENALTY_MS
    expect(penalties.isPenalised('p')).to.equal(false)
    expect(penalties.list()).to.deep.equal([])
    expect(penalties.penalise('p', 'again').until).to.equal(now + 2 * PENALTY_MS)
    for (let i = 0; i < 10; i++) penalties.penalise('p', 'and again')
    expect(penalties.penalise('p', 'still').until).to.equal(now + MAX_PENALTY_MS)
  })
})
