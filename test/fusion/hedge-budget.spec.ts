import { expect } from 'chai'
import { HedgeBudget } from '../../lib/fusion/hedge-budget.js'

describe('fusion hedge budget', () => {
  it('allows a burst, then one hedge per ten calls however slow every call is', () => {
    const b = new HedgeBudget({ ratio: 0.1, burst: 10 })
    let sent = 0
    // a saturated daemon: every one of 1,000 calls is due a hedge
    for (let i = 0; i < 1000; i++) {
      b.call()
      if (b.take()) sent++
    }
    // the burst of 10, then a tenth of the rest
    expect(sent).to.be.within(100, 110)
    expect(b.denied).to.equal(1000 - sent)
  })

  it('refills while calls need no hedge, up to the burst', () => {
    const b = new HedgeBudget({ ratio: 0.1, burst: 3 })
    for (let i = 0; i < 3; i++) expect(b.take()).to.equal(true)
    expect(b.take()).to.equal(false)
    for (let i = 0; i < 1000; i++) b.call()
    for (let i = 0; i < 3; i++) expect(b.take()).to.equal(true)
    expect(b.take()).to.equal(false)
  })
})
