import { execFile } from 'node:child_process'
import { expect } from 'chai'
import { echoModule } from '../../simulations/harness/modules.js'
import { hostAddress, NetnsLab, netnsUnavailable } from '../../simulations/harness/netns.js'
import { apiTimeoutFor, DEFAULT_API_TIMEOUT_MS, DEFAULT_READY_TIMEOUT_MS, readyTimeoutFor, seedPositions, type Network, type SimNode } from '../../simulations/harness/network.js'
import { machineInfo } from '../../simulations/harness/machine.js'
import { largest } from '../../simulations/harness/stats.js'
import { cdfSvg, lineSvg } from '../../simulations/harness/svg.js'
import { aliveTimeline } from '../../simulations/harness/timeline.js'
import { figuresOf } from '../bench/figures.js'
import { afterKill, ownerWaitFor } from '../../simulations/scenarios/failover.js'
import { pauseLengths, suspicionThresholdMs } from '../../simulations/scenarios/pause.js'
import { TIMING_PRESETS } from '../../lib/membership/presets.js'

/** the engine's own check (tsconfig has no DOM lib, which is where TypeScript declares WebAssembly) */
const { WebAssembly: engine } = globalThis as unknown as { WebAssembly: { validate: (bytes: Uint8Array) => boolean } }

/** `node -e` inside a namespace: connect to host:port, print ok or the error code (bounded). */
async function reach (lab: NetnsLab, from: number, to: number): Promise<string> {
  const script = `const s=require('net').connect(7000,'${hostAddress(to)}');s.setTimeout(700,()=>{console.log('timeout');process.exit(0)});s.on('connect',()=>{console.log('ok');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', lab.ns(from), process.execPath, '-e', script], { timeout: 10_000 }, (err, stdout) => {
      if (err != null) reject(err)
      else resolve(stdout.trim())
    })
  })
}

describe('simulation harness', function () {
  it('the padded echo module is valid wasm of the size asked for', async () => {
    const small = await echoModule('x')
    const big = await echoModule('big', '1.0.0', 1024 * 1024)
    expect(engine.validate(big.wasm)).to.equal(true)
    expect(big.wasm.byteLength).to.be.within(1024 * 1024 - 8, 1024 * 1024)
    expect(big.wasm.subarray(0, small.wasm.byteLength)).to.deep.equal(small.wasm)
    expect(big.manifest.name).to.equal('big')
  })

  it('plots and summaries take long runs: 200,000 samples overflow no call stack', () => {
    // Math.max(...values) threw RangeError past about 120,000 values (a long rpc-load run)
    const values = Array.from({ length: 200_000 }, (_, i) => i % 997)
    expect(largest(values)).to.equal(996)
    expect(largest([], 1)).to.equal(1)
    expect(cdfSvg({ title: 't', xLabel: 'ms', series: [{ name: 'calls', values }] })).to.include('<svg')
    expect(lineSvg({ title: 't', xLabel: 's', yLabel: 'n', lines: [{ name: 'a', points: values.map((v, i) => [i, v] as [number, number]) }] })).to.include('<svg')
  })

  it('results record the commit and the machine they were measured on', () => {
    const m = machineInfo()
    expect(m.commit).to.match(/^([0-9a-f]{40}|unknown)$/)
    expect(m.dirty).to.be.a('boolean')
    expect(m.cpus).to.be.greaterThan(0)
    expect(m.node).to.equal(process.version)
    expect(m.loadavg).to.have.length(3)
  })

  it('pause lengths straddle the suspicion threshold: some below it, some past it, up to twice it', () => {
    const threshold = suspicionThresholdMs(TIMING_PRESETS.local)
    expect(threshold).to.equal(TIMING_PRESETS.local.probeTimeoutMs + TIMING_PRESETS.local.indirectTimeoutMs)
    const lengths = pauseLengths(threshold)
    expect(lengths[0]).to.equal(500)
    expect(lengths.filter(l => l < threshold)).to.have.length.greaterThan(0)
    expect(lengths.filter(l => l > threshold)).to.have.length.greaterThan(0)
    expect(lengths.at(-1)).to.equal(threshold * 2)
  })

  it('failover: a kill is done when the replicas run again, on a new owner or on the nodes that already ran them', () => {
    // a third node still ran a replica when the owners were noted (after churn, placement was handing over):
    // the old check waited for a node outside all three, which never came, for its whole 120 s
    expect(afterKill(new Set(['n1', 'n2', 'n3']), 'n1', ['n2', 'n3'], 2)).to.deep.equal({ done: true, covered: true })
    expect(afterKill(new Set(['n1', 'n2']), 'n1', ['n2'], 2)).to.deep.equal({ done: false, covered: false })
    expect(afterKill(new Set(['n1', 'n2']), 'n1', ['n2', 'n4'], 2)).to.deep.equal({ done: true, newOwner: 'n4', covered: false })
  })

  it('control-API calls get more time as the network grows, never less than the default', () => {
    expect(apiTimeoutFor(5)).to.equal(DEFAULT_API_TIMEOUT_MS)
    expect(apiTimeoutFor(20)).to.equal(DEFAULT_API_TIMEOUT_MS)
    expect(apiTimeoutFor(100)).to.equal(300_000)
    // and so does a starting daemon's wait to be ready
    expect(readyTimeoutFor(5)).to.equal(DEFAULT_READY_TIMEOUT_MS)
    expect(readyTimeoutFor(40)).to.equal(DEFAULT_READY_TIMEOUT_MS)
    expect(readyTimeoutFor(100)).to.equal(300_000)
    // and a failover kill's wait for a new owner
    expect(ownerWaitFor(10)).to.equal(120_000)
    expect(ownerWaitFor(100)).to.equal(300_000)
  })

  it('a newcomer bootstraps from the first live daemon and others spread over the rest, each once', () => {
    expect(seedPositions(0)).to.deep.equal([])
    expect(seedPositions(1)).to.deep.equal([0])
    expect(seedPositions(2)).to.deep.equal([0, 1])
    expect(seedPositions(99)).to.deep.equal([0, 33, 66])
  })

  it('members alive per node are rebuilt from the events, and a restarted daemon starts from an empty table', () => {
    const ev = (at: number, peerId: string, status: string): any => ({ at, peerId, status, type: status === 'alive' ? 'join' : 'failed', incarnation: 0, time: new Date(at).toISOString() })
    const a = { index: 0, peerId: 'A', lives: [{ from: 0 }], events: [ev(500, 'B', 'alive'), ev(600, 'C', 'alive'), ev(4500, 'C', 'failed')] } as unknown as SimNode
    const b = { index: 1, peerId: 'B', lives: [{ from: 0, to: 2500 }, { from: 6000 }], events: [ev(100, 'A', 'alive'), ev(6200, 'A', 'alive')] } as unknown as SimNode
    const t = aliveTimeline({ nodes: [a, b] } as unknown as Network, 0, 8000, 8)
    expect(t.stepMs).to.equal(1000)
    expect(t.nodes[0]!.lives).to.deep.equal([[[0, 0], [1, 2], [2, 2], [3, 2], [4, 2], [5, 1], [6, 1], [7, 1], [8, 1]]])
    // B ran 0-2.5 s, then from 6 s: an empty table until its first event of the new run
    expect(t.nodes[1]!.lives).to.deep.equal([[[0, 0], [1, 1], [2, 1]], [[6, 0], [7, 1], [8, 1]]])
    expect(t.running).to.deep.equal([[0, 2], [1, 2], [2, 2], [3, 1], [4, 1], [5, 1], [6, 2], [7, 2], [8, 2]])
  })

  it('benchmark figures are read beside their same-run baselines, and missing numbers are left out', () => {
    const figures = figuresOf({ name: 'rpc', meshRpc: { perSec: 12000 }, baselineRawHttp: { perSec: 20000 }, gateway: { perSec: 'n/a' } })
    expect(figures).to.have.length(1)
    expect(figures[0]).to.include({ figure: 'mesh RPC throughput', value: 12000, baselineValue: 20000, ratio: 0.6, better: 'higher' })
    expect(figuresOf({ name: 'unknown' })).to.deep.equal([])
  })

  describe('network namespaces', function () {
    this.timeout(60_000)
    let lab: NetnsLab | undefined
    let server: ReturnType<typeof execFile> | undefined
    before(async function () {
      const why = await netnsUnavailable()
      if (why != null) { this.skip() }
      lab = new NetnsLab()
      await lab.setup()
      for (const i of [0, 1, 2]) await lab.addHost(i)
      server = execFile('ip', ['netns', 'exec', lab.ns(0), process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(7000,'${hostAddress(0)}')`])
    })
    after(async () => {
      server?.kill('SIGKILL')
      await lab?.teardown()
    })

    it('cuts are real: an isolated host, islands and a cut pair, each healed', async () => {
      const l = lab!
      const until = async (from: number, want: string): Promise<void> => {
        const deadline = Date.now() + 10_000
        let got = ''
        while ((got = await reach(l, from, 0)) !== want) {
          if (Date.now() > deadline) throw new Error(`host ${from} -> 0: ${got}, want ${want}`)
        }
      }
      await until(1, 'ok')
      await until(2, 'ok')
      await l.isolate(0)
      expect(await reach(l, 1, 0)).to.equal('timeout')
      await l.reconnect(0)
      await until(1, 'ok')
      await l.islands([2])
      expect(await reach(l, 2, 0)).to.equal('timeout')
      await until(1, 'ok')
      await l.mergeIslands([2])
      await until(2, 'ok')
      await l.cutPair(0, 1)
      expect(await reach(l, 1, 0)).to.not.equal('ok')
      await until(2, 'ok')
      await l.healPair(0, 1)
      await until(1, 'ok')
    })
  })
})
