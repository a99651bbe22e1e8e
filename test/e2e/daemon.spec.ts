import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { PeerEntry } from '../../lib/interface/api.js'
import { initRepo } from '../../lib/repo/init.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { DaemonProcess, killAll, runCli } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

async function exists (file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false)
}

describe('noodled processes (end to end)', function () {
  this.timeout(120_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []

  beforeEach(async () => { dir = await tmpDir() })
  afterEach(async () => {
    await killAll(daemons)
    daemons = []
    await dir.cleanup()
  })

  async function start (name: string, args: string[] = []): Promise<DaemonProcess> {
    const d = await DaemonProcess.start(join(dir.path, name), args)
    daemons.push(d)
    return d
  }

  it('three daemons bootstrapped from the first all list each other', async () => {
    const a = await start('a')
    const startOut = a.stdout
    const id = await a.id()
    expect(startOut).to.include(`peer id:  ${id.peerId}`)
    expect(startOut).to.include(id.addrs[0])
    const bootstrap = ['--bootstrap', id.addrs[0]!]
    const [b, c] = await Promise.all([start('b', bootstrap), start('c', bootstrap)])
    const ids = await Promise.all([a, b, c].map(async d => (await d.id()).peerId))

    for (const [i, d] of [a, b, c].entries()) {
      const others = ids.filter((_, j) => j !== i).sort()
      await waitFor(async () => {
        const res = await d.cli('peers', '--json')
        const peers = JSON.parse(res.stdout) as PeerEntry[]
        return JSON.stringify(peers.map(p => p.peerId).sort()) === JSON.stringify(others)
      }, { timeoutMs: 30_000, what: `daemon ${i} to list the other two` })
    }

    const human = await b.cli('peers')
    expect(human.stdout.split('\n')[0]).to.match(/^PEER ID\s+ADDRESS\s+DIRECTION\s+LATENCY$/)
    const status = JSON.parse((await c.cli('status', '--json')).stdout)
    expect(status).to.include({ peerId: ids[2], peers: 2, repo: c.repo })
  })

  it('keeps its peer id across a restart', async () => {
    const a = await start('a')
    const before = (await a.id()).peerId
    expect((await a.kill('SIGTERM')).code).to.equal(0)
    const again = await start('a')
    expect((await again.id()).peerId).to.equal(before)
  })

  it('refuses a second daemon on the same repo with a clear message', async () => {
    const a = await start('a')
    const second = DaemonProcess.spawn(a.repo, ['--profile', 'local', '--listen', '/ip4/127.0.0.1/tcp/0'])
    const exit = await second.exited
    expect(exit.code).to.equal(1)
    expect(second.stderr).to.include(`repo ${a.repo} is in use by noodled (pid ${a.proc.pid})`)
    // the first is untouched and still answers
    expect((await a.cli('status', '--json')).code).to.equal(0)
  })

  it('on SIGTERM and SIGINT exits 0 and leaves no socket or pid file', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const d = await start(`s-${signal}`)
      const paths = repoPaths(d.repo)
      expect(await exists(paths.apiSocket)).to.equal(true)
      expect(await exists(paths.pidFile)).to.equal(true)
      // the 5 s promise to operators: kill() fails if the process takes longer
      const exit = await d.kill(signal, 5_000)
      expect(exit.code).to.equal(0)
      expect(await exists(paths.apiSocket)).to.equal(false)
      expect(await exists(paths.pidFile)).to.equal(false)
    }
  })

  it('cleans the stale socket and pid file a crashed daemon left, then runs', async () => {
    const a = await start('a')
    const paths = repoPaths(a.repo)
    const exit = await a.kill('SIGKILL')
    expect(exit.signal).to.equal('SIGKILL')
    expect(await exists(paths.apiSocket)).to.equal(true)
    expect(await exists(paths.pidFile)).to.equal(true)
    // the CLI sees nobody behind the stale socket
    const res = await runCli(['--repo', a.repo, 'status'])
    expect(res.code).to.equal(1)
    expect(res.stderr).to.include(`daemon not running at ${a.repo}`)

    const again = await start('a')
    expect(again.stderr).to.include('removed stale file')
    expect((await readFile(paths.pidFile, 'utf8')).trim()).to.equal(String(again.proc.pid))
    expect((await again.cli('status', '--json')).code).to.equal(0)
  })

  it('noodled stop stops the daemon and waits until it has exited', async () => {
    const a = await start('a')
    const res = await a.cli('stop')
    expect(res.code).to.equal(0)
    expect(res.stdout).to.include('stopped')
    const exit = await a.exited
    expect(exit.code).to.equal(0)
    expect(await exists(repoPaths(a.repo).apiSocket)).to.equal(false)
  })

  it('connect dials a daemon that was started without bootstrap peers', async () => {
    const a = await start('a')
    const b = await start('b')
    const addr = (await a.id()).addrs[0]!
    const res = await b.cli('connect', addr, '--json')
    expect(res.code).to.equal(0)
    expect(JSON.parse(res.stdout).peerId).to.equal((await a.id()).peerId)
    const bad = await b.cli('connect', 'nonsense')
    expect(bad.code).to.equal(1)
    expect(bad.stderr).to.include('InvalidMultiaddrError')
  })

  it('keeps retrying an unreachable bootstrap peer and says so in its logs', async () => {
    const b = await start('b', ['--bootstrap', '/ip4/127.0.0.1/tcp/1'])
    await waitFor(() => b.stderr.includes('bootstrap peer unreachable'), { what: 'a retry warning' })
    const line = b.stderr.split('\n').find(l => l.includes('bootstrap peer unreachable'))!
    const entry = JSON.parse(line)
    expect(entry).to.include({ level: 40, addr: '/ip4/127.0.0.1/tcp/1', attempt: 1 })
    expect(entry.retryInMs).to.be.a('number')
    expect(b.running).to.equal(true)
  })

  it('the CLI against a repo with no daemon exits 1 naming the repo and how to start one', async () => {
    const repo = join(dir.path, 'none')
    for (const cmd of ['status', 'id', 'peers', 'stop']) {
      const res = await runCli(['--repo', repo, cmd])
      expect(res.code, cmd).to.equal(1)
      expect(res.stderr, cmd).to.include(`daemon not running at ${repo}; start it with \`noodled start`)
    }
    // $NOODLE_PATH is honoured the same way
    const env = await runCli(['status'], { env: { NOODLE_PATH: repo } })
    expect(env.stderr).to.include(`daemon not running at ${repo}`)
  })

  it('usage errors exit 2; help and version exit 0', async () => {
    expect((await runCli(['frobnicate'])).code).to.equal(2)
    expect((await runCli(['status', '--bogus'])).code).to.equal(2)
    expect((await runCli(['connect'])).code).to.equal(2)
    expect((await runCli(['start', '--profile', 'moon'])).code).to.equal(2)
    const help = await runCli(['--help'])
    expect(help.code).to.equal(0)
    for (const cmd of ['init', 'start', 'id', 'status', 'peers', 'connect', 'stop', 'version']) {
      expect(help.stdout).to.match(new RegExp(`^\\s+${cmd}\\b`, 'm'))
    }
    const version = await runCli(['version', '--json'])
    expect(version.code).to.equal(0)
    expect(JSON.parse(version.stdout).version).to.match(/^\d+\.\d+\.\d+/)
  })

  it('a bad config.json stops start with exit 1, naming key and file, repo untouched', async () => {
    const repo = join(dir.path, 'bad')
    await initRepo(repo)
    const paths = repoPaths(repo)
    await writeFile(paths.config, JSON.stringify({ profile: 'local', lisen: [] }))
    const before = (await readdir(repo)).sort()
    const res = await runCli(['--repo', repo, 'start'])
    expect(res.code).to.equal(1)
    expect(res.stderr).to.include('unknown key "lisen"').and.include(paths.config)
    expect((await readdir(repo)).sort()).to.deep.equal(before)

    await writeFile(paths.config, '{"profile": local}')
    const json = await runCli(['--repo', repo, 'start'])
    expect(json.code).to.equal(1)
    expect(json.stderr).to.include('not valid JSON').and.include(paths.config)
    expect((await readdir(repo)).sort()).to.deep.equal(before)
  })

  it('init creates a repo once and refuses to overwrite its identity', async () => {
    const repo = join(dir.path, 'i')
    const first = await runCli(['--repo', repo, 'init', '--profile', 'local', '--json'])
    expect(first.code).to.equal(0)
    const { peerId } = JSON.parse(first.stdout)
    const second = await runCli(['--repo', repo, 'init'])
    expect(second.code).to.equal(1)
    expect(second.stderr).to.include('already initialised')
    const d = await start('i')
    expect((await d.id()).peerId).to.equal(peerId)
  })
})

describe('README quickstart script', function () {
  this.timeout(120_000)

  it('examples/local-mesh.sh --once forms a three-node mesh and shows it', async () => {
    const { execFile } = await import('node:child_process')
    const { fileURLToPath } = await import('node:url')
    const script = fileURLToPath(new URL('../../../examples/local-mesh.sh', import.meta.url))
    const out = await new Promise<string>((resolve, reject) => {
      execFile('bash', [script, '--once'], { timeout: 90_000 }, (err, stdout, stderr) => {
        if (err != null) reject(new Error(`${err.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
    const sections = out.split(/^== /m).slice(1)
    expect(sections).to.have.length(3)
    for (const section of sections) {
      const peerLines = section.split('\n').filter(l => l.startsWith('12D3KooW'))
      expect(peerLines, section).to.have.length(2)
    }
    expect(out).to.include('mesh of 3 formed')
  })
})
