import { expect } from 'chai'
import { PendingCalls } from '../../lib/rpc/pending-calls.js'

describe('rpc pending calls (a ring by id, stragglers aside)', () => {
  it('finds, removes and counts calls by id, whatever order they are answered in', () => {
    const pending = new PendingCalls<string>()
    for (let id = 1; id <= 100; id++) pending.set(id, `call ${id}`)
    expect(pending.size).to.equal(100)
    expect(pending.get(42)).to.equal('call 42')
    expect(pending.delete(42)).to.equal(true)
    expect(pending.delete(42)).to.equal(false)
    expect(pending.get(42)).to.equal(undefined)
    expect(pending.get(101)).to.equal(undefined)
    for (let id = 100; id >= 1; id--) pending.delete(id)
    expect(pending.size).to.equal(0)
    expect(pending.entries()).to.deep.equal([])
  })

  it('keeps a call that waits while more than a ring of later calls are sent, and ids that wrap around', () => {
    const pending = new PendingCalls<number>()
    pending.set(1, 1)
    // 5000 later calls, each answered at once: call 1 is overtaken several times round the ring
    for (let id = 2; id < 5002; id++) {
      pending.set(id, id)
      expect(pending.get(1)).to.equal(1)
      expect(pending.delete(id)).to.equal(true)
    }
    expect(pending.size).to.equal(1)
    // ids near the top of the 32-bit range and after the wrap back to 1 share slots with older ones
    pending.set(0xffffffff, 7)
    pending.set(1025, 8)
    expect(pending.get(0xffffffff)).to.equal(7)
    expect(pending.get(1025)).to.equal(8)
    expect(pending.get(1)).to.equal(1)
    expect(pending.entries().map(([id]) => id).sort((a, b) => a - b)).to.deep.equal([1, 1025, 0xffffffff])
    expect(pending.delete(1)).to.equal(true)
    expect(pending.size).to.equal(2)
    pending.clear()
    expect(pending.size).to.equal(0)
    expect(pending.get(1025)).to.equal(undefined)
  })
})
