import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { DaemonProcess, killAll, startDaemonMesh } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const PACKAGE = join(ROOT, 'clients/python')

/** python3 if it is there and >= 3.9, else why not. */
function python (): { bin: string } | { missing: string } {
  const res = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' })
  if (res.error != null || res.status !== 0) return { missing: 'python3 is not installed' }
  const [major, minor] = res.stdout.trim().split('.').map(Number)
  if (major! < 3 || (major === 3 && minor! < 9)) return { missing: `python3 is ${res.stdout.trim()}, the package needs >= 3.9` }
  return { bin: 'python3' }
}

describe('the Python package (clients/python) against daemon processes', function () {
  this.timeout(300_000)
  const py = python()
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []
  let site = ''
  let env: NodeJS.ProcessEnv = {}
  const children: ChildProcess[] = []

  before(async function () {
    if ('missing' in py) {
      // loud: a machine without Python runs none of these, and says so in the output
      console.warn(`\n  !!! ${py.missing}: the Python client's tests did NOT run\n`)
      this.skip()
    }
    dir = await tmpDir()
    const mesh = await startDaemonMesh(join(dir.path, 'mesh'), 2, ['--gateway', '127.0.0.1:0', '--api', '127.0.0.1:0'])
    daemons = mesh.daemons
    site = join(dir.path, 'site')
    env = {
      ...process.env,
      PYTHONPATH: site,
      PYTHONDONTWRITEBYTECODE: '1',
      NOODLE_TEST_REPO_A: daemons[0]!.repo,
      NOODLE_TEST_REPO_B: daemons[1]!.repo,
      NOODLE_TEST_GATEWAY: /gateway: +(http:\/\/\S+)/.exec(daemons[0]!.stdout)![1]!,
      NOODLE_TEST_API_URL: /api tcp: +(http:\/\/\S+)/.exec(daemons[0]!.stdout)![1]!,
      NOODLE_TEST_EXAMPLES: join(ROOT, 'examples/modules')
    }
  })
  after(async () => {
    for (const c of children) c.kill('SIGKILL')
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('installs with pip offline, from the repository, with nothing but the standard library (an in-tree build backend)', () => {
    const res = spawnSync('python3', ['-m', 'pip', 'install', '--no-index', '--no-deps', '--disable-pip-version-check', '--quiet', '--target', site, PACKAGE], { encoding: 'utf8' })
    expect(res.status, res.stderr).to.equal(0)
    const check = spawnSync('python3', ['-c', 'import noodle; print(noodle.__version__, noodle.__file__)'], { encoding: 'utf8', env, cwd: dir.path })
    expect(check.status, check.stderr).to.equal(0)
    expect(check.stdout).to.include('0.1.0').and.to.include(site)
  })

  it('passes its own test suite against two real daemons: every client call, a Python service called by mesh RPC and the gateway, deadlines, named errors, concurrency, deregistration on SIGTERM', () => {
    // the tests import the installed package (PYTHONPATH), not the source tree
    const res = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', join(PACKAGE, 'tests'), '-t', PACKAGE, '-v'], { encoding: 'utf8', env, cwd: dir.path, timeout: 240_000 })
    const output = `${res.stdout}\n${res.stderr}`
    expect(res.status, output.slice(-4000)).to.equal(0)
    expect(output).to.match(/Ran \d+ tests/)
    expect(output).not.to.include('skipped')
  })

  it('a Python service stays reachable through a restart of its daemon', async () => {
    const name = 'text-restart'
    const svc = spawn('python3', [join(ROOT, 'examples/python/text_service.py'), '--repo', daemons[1]!.repo, '--name', name], { env, stdio: 'inherit' })
    children.push(svc)
    const [a, b] = daemons as [DaemonProcess, DaemonProcess]
    const call = async (): Promise<string | undefined> => {
      const res = await a.cli('call', name, 'upper', 'still here', '--timeout', '2s')
      return res.code === 0 ? res.stdout.trim() : undefined
    }
    await waitFor(async () => (await call()) === 'STILL HERE', { timeoutMs: 60_000, what: 'the Python service to answer' })
    const boot = (await a.id()).addrs[0]!
    await b.kill('SIGTERM')
    const b2 = await DaemonProcess.start(b.repo, ['--bootstrap', boot, '--log-level', 'warn'])
    daemons[1] = b2
    await waitFor(async () => (await call()) === 'STILL HERE', { timeoutMs: 60_000, what: 'the Python service to answer after its daemon restarted' })
    svc.kill('SIGTERM')
    await new Promise(resolve => svc.once('exit', resolve))
  })

  it('a knowledge extractor in Python (examples/python/analyzer_service.py) is the analyzer of kg add --text on another daemon', async () => {
    const svc = spawn('python3', [join(ROOT, 'examples/python/analyzer_service.py'), '--repo', daemons[1]!.repo, '--name', 'caps-ner'], { env, stdio: 'inherit' })
    children.push(svc)
    const a = daemons[0]!
    const added = await waitFor(async () => {
      const res = await a.cli('kg', 'add', '--graph', 'py-notes', '--text', 'Grace Hopper met Alan Turing in London.', '--analyzer', 'caps-ner', '--json')
      return res.code === 0 ? JSON.parse(res.stdout) as { analyzer: { name: string }, extraction: { entities: Array<{ name: string, type: string }>, relations: unknown[] } } : undefined
    }, { timeoutMs: 60_000, what: 'the Python analyzer to answer' })
    expect(added.analyzer.name).to.equal('caps-ner')
    expect(added.extraction.entities.map(e => `${e.type}:${e.name}`)).to.deep.equal(['Person:Grace Hopper', 'Person:Alan Turing', 'Place:London'])
    expect(added.extraction.relations).to.have.length(2)
    svc.kill('SIGTERM')
    await new Promise(resolve => svc.once('exit', resolve))
  })
})
