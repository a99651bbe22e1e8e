import { expect } from 'chai'
import { ActiveDeadlines, CallDeadline } from '../../lib/rpc/deadline.js'
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

  it('keeps the calls in progress: removes any of them in any order, ignores one not in it, and ends the rest when told', () => {
    const active = new ActiveDeadlines()
    const made = Array.from({ length: 5 }, (_, i) => new CallDeadline(10_000, () => new Error(`late ${i}`)))
    const heard: string[] = []
    made.forEach((d, i) => { d.wait((err) => { heard.push(`${i}: ${err.message}`) }); active.add(d) })
    expect(active.size).to.equal(5)
    active.delete(made[2]!) // middle
    active.delete(made[4]!) // head (the last added)
    active.delete(made[0]!) // tail
    active.delete(made[0]!) // no longer in it
    active.delete(new CallDeadline(10, () => new Error('never added')))
    expect(active.size).to.equal(2)
    // a call ended by abortAll removes itself, as the server's calls do: the list is already empty then
    made[1]!.wait((err) => { heard.push(`1: ${err.message}`); active.delete(made[1]!) })
    active.abortAll(new Error('stopping'))
    expect(heard.sort()).to.deep.equal(['1: stopping', '3: stopping'])
    expect(active.size).to.equal(0)
    active.add(made[2]!)
    expect(active.size).to.equal(1)
    made.forEach(d => { d.clear() })
  })
})
