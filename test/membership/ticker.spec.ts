import { expect } from 'chai'
import { Ticker, type TickerClock } from '../../lib/membership/ticker.js'

/** A clock whose time moves only when told to, firing due timers in order. */
class ManualClock implements TickerClock {
  private t = 0
  private seq = 0
  private readonly timers = new Map<number, { at: number, fn: () => void }>()

  now = (): number => this.t
  setTimeout = (fn: () => void, ms: number): number => {
    const id = ++this.seq
    this.timers.set(id, { at: this.t + ms, fn })
    return id
  }

  clearTimeout = (id: number): void => { this.timers.delete(id) }

  get pending (): number {
    return this.timers.size
  }

  advance (ms: number): void {
    const end = this.t + ms
    while (true) {
      const next = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
      if (next == null) break
      this.timers.delete(next[0])
      this.t = next[1].at
      next[1].fn()
    }
    this.t = end
  }
}

describe('membership ticker', () => {
  it('runs at the idle period while nothing is pending and at the fast one while something is', () => {
    const clock = new ManualClock()
    const runs: number[] = []
    let busy = false
    const ticker = new Ticker({ fn: () => { runs.push(clock.now()) }, fastMs: 100, idleMs: () => 1_000, busy: () => busy, clock })
    ticker.start()
    clock.advance(3_100)
    // the first run after start comes at the fast period, then idle
    expect(runs).to.deep.equal([100, 1_100, 2_100, 3_100])
    busy = true
    clock.advance(4_100 - 3_100)
    // still waiting out the idle period scheduled before busy turned true, then fast
    expect(runs.slice(4)).to.deep.equal([4_100])
    clock.advance(300)
    expect(runs.slice(5)).to.deep.equal([4_200, 4_300, 4_400])
    busy = false
    clock.advance(1_200)
    expect(runs.slice(8)).to.deep.equal([4_500, 5_500])
    ticker.stop()
    expect(clock.pending).to.equal(0)
  })

  it('hurry brings a run waiting out the idle period forward to the fast period, and never delays a sooner one', () => {
    const clock = new ManualClock()
    const runs: number[] = []
    const ticker = new Ticker({ fn: () => { runs.push(clock.now()) }, fastMs: 100, idleMs: () => 1_000, busy: () => false, clock })
    ticker.start()
    clock.advance(100)
    expect(ticker.nextAt).to.equal(1_100)
    clock.advance(250)
    ticker.hurry()
    expect(ticker.nextAt).to.equal(450)
    clock.advance(60)
    // a second hurry before that run does not push it back
    ticker.hurry()
    expect(ticker.nextAt).to.equal(450)
    clock.advance(40)
    expect(runs).to.deep.equal([100, 450])
    expect(ticker.nextAt).to.equal(1_450)
    ticker.stop()
    ticker.hurry()
    expect(clock.pending).to.equal(0)
    expect(ticker.nextAt).to.equal(Infinity)
  })

  it('never idles faster than the fast period, and a run that throws is reported and the ticker goes on', () => {
    const clock = new ManualClock()
    const errors: unknown[] = []
    let n = 0
    const ticker = new Ticker({
      fn: () => { n++; if (n === 2) throw new Error('boom') },
      fastMs: 100,
      idleMs: () => 10,
      busy: () => false,
      onError: (err) => { errors.push(err) },
      clock
    })
    ticker.start()
    clock.advance(500)
    expect(n).to.equal(5)
    expect(errors).to.have.length(1)
    expect((errors[0] as Error).message).to.equal('boom')
    ticker.stop()
  })
})
