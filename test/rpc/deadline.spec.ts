import { expect } from 'chai'
import { CallDeadline } from '../../lib/rpc/deadline.js'
import { waitFor } from '../utils/wait-for.js'

describe('rpc call deadline', () => {
  it('ends the call when the deadline passes: the waiter hears it once, the signal made later is aborted too', async () => {
    const heard: Error[] = []
    const deadline = new CallDeadline(30, () => new Error('too late'))
    deadline.wait((err) => { heard.push(err) })
    expect(deadline.reason).to.equal(undefined)
    await waitFor(() => heard.length === 1, { what: 'the deadline to pass' })
    expect(heard[0]!.message).to.equal('too late')
    expect(deadline.reason?.message).to.equal('too late')
    expect(deadline.signal.aborted).to.equal(true)
    expect(deadline.signal.reason.message).to.equal('too late')
    expect(deadline.remainingMs()).to.equal(1)
    deadline.clear()
  })

  it('ends the call with the reason of the caller\'s signal, and leaves that signal alone once cleared', () => {
    const caller = new AbortController()
    const made: AbortSignal[] = []
    const deadline = new CallDeadline(10_000, () => new Error('too late'), caller.signal)
    made.push(deadline.options.signal)
    const heard: Error[] = []
    deadline.wait((err) => { heard.push(err) })
    caller.abort(new Error('gone'))
    expect(heard.map(e => e.message)).to.deep.equal(['gone'])
    expect(made[0]!.aborted).to.equal(true)
    deadline.clear()

    const other = new AbortController()
    const cleared = new CallDeadline(10_000, () => new Error('too late'), other.signal)
    cleared.wait(() => { throw new Error('a cleared deadline must not call its waiter') })
    cleared.clear()
    other.abort(new Error('after the call'))
    expect(cleared.reason).to.equal(undefined)
  })

  it('makes no AbortSignal unless asked for one', () => {
    const deadline = new CallDeadline(10_000, () => new Error('too late'))
    const options = deadline.options
    expect((deadline as any).controller).to.equal(undefined)
    expect(options.signal.aborted).to.equal(false)
    expect((deadline as any).controller).to.not.equal(undefined)
    deadline.clear()
  })
})
