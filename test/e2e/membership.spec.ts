import { expect } from 'chai'
import type { MemberEventView, MemberView } from '../../lib/interface/api.js'
import { DaemonProcess, killAll, startDaemonMesh } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

async function members (d: DaemonProcess, ...args: string[]): Promise<MemberView[]> {
  const res = await d.cli('members', '--json', ...args)
  if (res.code !== 0) throw new Error(res.stderr)
  return JSON.parse(res.stdout) as MemberView[]
}

async function events (d: DaemonProcess): Promise<MemberEventView[]> {
  const res = await d.cli('events', '--json')
  if (res.code !== 0) throw new Error(res.stderr)
  return res.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as MemberEventView)
}

async function statusIn (viewer: DaemonProcess, peerId: string): Promise<string | undefined> {
  return (await members(viewer)).find(m => m.peerId === peerId)?.status
}

describe('membership across real daemon processes', function () {
  this.timeout(180_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []
  let ids: string[] = []

  before(async () => {
    dir = await tmpDir()
    const mesh = await startDaemonMesh(dir.path, 5)
    daemons = mesh.daemons
    ids = mesh.ids
  })

  after(async () => {
    await killAll(daemons)
    await dir.cleanup()
  })

  it('lists members with resources and filters by status and label', async () => {
    const view = await members(daemons[0]!)
    expect(view).to.have.length(5)
    expect(view.filter(m => m.self).map(m => m.peerId)).to.deep.equal([ids[0]])
    for (const m of view) {
      expect(m).to.include.keys('peerId', 'status', 'incarnation', 'lastSeenMs', 'resources', 'labels')
      expect(m.resources.memTotal).to.be.greaterThan(0)
    }
    const set = await daemons[1]!.cli('label', 'set', 'zone=eu-1')
    expect(set.code).to.equal(0)
    await waitFor(async () => (await members(daemons[3]!, '--label', 'zone=eu-1')).map(m => m.peerId).join() === ids[1], { what: 'the label to reach d3' })
    const human = await daemons[3]!.cli('members')
    expect(human.stdout.split('\n')[0]).to.match(/^\s*PEER ID\s+STATUS\s+INC\s+SEEN/)
    const one = await daemons[3]!.cli('member', ids[1]!, '--json')
    expect(JSON.parse(one.stdout).labels).to.deep.equal({ 'zone': 'eu-1' })
    const bad = await daemons[3]!.cli('members', '--status', 'zombie')
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.include('unknown status')
  })

  it('a SIGSTOP of one second makes no member fail', async () => {
    const paused = daemons[2]!
    const pausedId = ids[2]!
    paused.proc.kill('SIGSTOP')
    const resumeAt = Date.now() + 1_000
    // the test waits on the clock here on purpose: the pause length is the scenario
    await waitFor(() => Date.now() >= resumeAt, { intervalMs: 20, what: 'one second of pause' })
    paused.proc.kill('SIGCONT')
    // give detectors well past their probe and suspicion windows to (wrongly) decide
    const until = Date.now() + 6_000
    await waitFor(() => Date.now() >= until, { timeoutMs: 10_000, intervalMs: 200, what: 'the detection window' })
    for (const d of daemons.filter(d => d !== paused)) {
      expect(await statusIn(d, pausedId)).to.equal('alive')
      const failed = (await events(d)).filter(e => e.peerId === pausedId && e.type === 'failed')
      expect(failed).to.deep.equal([])
    }
  })

  it('a SIGKILLed daemon is marked failed by every other', async () => {
    const victim = daemons[4]!
    const victimId = ids[4]!
    await victim.kill('SIGKILL')
    const others = daemons.slice(0, 4)
    await waitFor(async () => {
      for (const d of others) {
        if (await statusIn(d, victimId) !== 'failed') return false
      }
      return true
    }, { timeoutMs: 30_000, what: 'all four survivors to mark the victim failed' })
    const evs = (await events(others[0]!)).filter(e => e.peerId === victimId).map(e => e.type)
    expect(evs.slice(-2)).to.deep.equal(['suspect', 'failed'])
  })

  it('events --follow streams NDJSON as members change', async () => {
    const watcher = daemons[0]!
    const { spawn } = await import('node:child_process')
    const { CLI } = await import('../utils/daemon-process.js')
    const follow = spawn(process.execPath, [CLI, '--repo', watcher.repo, 'events', '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    follow.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
    try {
      // a leave is a fresh event after the history
      const leaver = daemons[3]!
      expect((await leaver.cli('stop')).code).to.equal(0)
      await waitFor(() => out.split('\n').some(l => l.includes(ids[3]!) && l.includes('"left"')), { what: 'the left event on the stream' })
      for (const line of out.split('\n').filter(l => l !== '')) {
        expect(JSON.parse(line)).to.include.keys('type', 'peerId', 'status', 'incarnation', 'time')
      }
    } finally {
      follow.kill()
    }
  })

  it('keeps labels set at runtime across a restart', async () => {
    const d = daemons[1]!
    expect((await d.kill('SIGTERM')).code).to.equal(0)
    const again = await DaemonProcess.start(d.repo, ['--log-level', 'warn', '--bootstrap', (await daemons[0]!.id()).addrs[0]!])
    daemons[1] = again
    const labels = JSON.parse((await again.cli('label', '--json')).stdout).labels
    expect(labels).to.deep.equal({ zone: 'eu-1' })
    // its restart raised its incarnation, so the others take it back as alive
    await waitFor(async () => await statusIn(daemons[0]!, ids[1]!) === 'alive' &&
      (await members(daemons[0]!)).find(m => m.peerId === ids[1])!.incarnation >= 1, { what: 'd0 to see the restarted d1' })
  })
})
