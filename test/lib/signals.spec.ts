import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { expect } from 'chai'
import { pendingTimeouts, timeoutSignal } from '../../lib/signals.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

describe('timeoutSignal', () => {
  it('fires inside AbortSignal.any after a garbage collection (Node 20 drops a bare AbortSignal.timeout there)', async () => {
    const ours = AbortSignal.any([new AbortController().signal, timeoutSignal(100)])
    const bare = AbortSignal.any([new AbortController().signal, AbortSignal.timeout(100)])
    gc()
    const deadline = Date.now() + 5_000
    while (!ours.aborted && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(ours.aborted).to.equal(true)
    expect((ours.reason as Error).name).to.equal('TimeoutError')
    expect(pendingTimeouts()).to.be.lessThan(1000)
    // recorded, not asserted: a later Node may fix the bare form
    if (!bare.aborted) console.log('      (the bare AbortSignal.timeout inside AbortSignal.any did not fire after gc on this Node)')
  })
})
