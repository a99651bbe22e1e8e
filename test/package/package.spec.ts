import { execFile } from 'node:child_process'
import { access, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { DaemonProcess, killAll, runCli } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

/** Run a command; its output, or an error with both streams. */
async function run (cmd: string, args: string[], opts: { cwd?: string, timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd ?? ROOT, timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_yes: 'true' } }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

async function post (url: string, body: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * The package as a user gets it: `npm pack`, then `npm install -g` of the
 * tarball into a prefix of its own, with npm's defaults (npm 11 runs no
 * install scripts of a package unless allowed) and with --ignore-scripts.
 * From the installed copy only: two daemons, the echo example published
 * from the package's own examples, deployed, and called through the
 * gateway. Run by `npm run test:package` (a step of .ci/run), after a build.
 */
describe('the package: packed, installed with npm, run from the installed copy', function () {
  this.timeout(900_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let tarball: string
  const daemons: DaemonProcess[] = []
  before(async () => {
    dir = await tmpDir()
    // dist/ and the example modules are built already (npm test's pretest, or npm run build);
    // prepack would build them again
    const out = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir.path])
    const [packed] = JSON.parse(out) as Array<{ filename: string, files: Array<{ path: string }> }>
    tarball = join(dir.path, packed!.filename)
    const files = packed!.files.map(f => f.path)
    // what `noodled start` and the demo need, and nothing of the tests
    for (const f of ['dist/bin/main.js', 'dist/bin/worker.js', 'dist/examples/demo.js', 'examples/modules/echo/noodle.json', 'examples/modules/echo/build/echo.wasm', 'deploy/noodled.service', 'docs/deploying.md', 'LICENSE', 'README.md']) {
      expect(files, f).to.include(f)
    }
    expect(files.filter(f => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('patches/'))).to.deep.equal([])
    expect(files.some(f => f.includes('extism') && f.endsWith('LICENSE'))).to.equal(true)
  })
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('ships a systemd unit that systemd-analyze verify accepts (where systemd-analyze exists)', async function () {
    const analyze = await run('sh', ['-c', 'command -v systemd-analyze || true'])
    if (analyze.trim() === '') this.skip()
    // verify resolves ExecStart's command on PATH: a stand-in for the installed noodled
    const bin = join(dir.path, 'fake-bin')
    await mkdir(bin, { recursive: true })
    await writeFile(join(bin, 'noodled'), '#!/bin/sh\n', { mode: 0o755 })
    const unit = join(dir.path, 'noodled.service')
    await copyFile(join(ROOT, 'deploy', 'noodled.service'), unit)
    const out = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile(analyze.trim(), ['verify', unit], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } }, (err, _stdout, stderr) => {
        resolve({ code: err == null ? 0 : Number((err as any).code ?? 1), stderr })
      })
    })
    expect(out.code, out.stderr).to.equal(0)
    // warnings about the unit itself (unknown keys, bad values) fail it too
    expect(out.stderr.split('\n').filter(l => l.includes('noodled.service'))).to.deep.equal([])
  })

  it('runs with npx from the tarball, installing nothing globally', async () => {
    const out = await run('npx', ['--yes', '--prefer-offline', `--package=${tarball}`, 'noodled', 'version'], { cwd: dir.path })
    expect(out).to.match(/^noodled \d+\.\d+\.\d+/)
  })

  for (const mode of [{ name: 'npm\'s defaults', flags: [] as string[] }, { name: '--ignore-scripts', flags: ['--ignore-scripts'] }]) {
    it(`installed with ${mode.name}: two daemons from the installed noodled, echo published from the package's examples, deployed and called through the gateway`, async () => {
      const prefix = join(dir.path, `prefix-${mode.flags.length}`)
      await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', ...mode.flags, tarball])
      const installed = join(prefix, 'lib', 'node_modules', 'noodled')
      // the bin link npm made, and the entry it points at
      await access(join(prefix, 'bin', 'noodled'))
      const cli = join(installed, 'dist', 'bin', 'main.js')
      const version = await runCli(['version'], { cli })
      expect(version.stdout, version.stderr).to.match(/^noodled \d+\.\d+\.\d+/)
      // nothing of a checkout beside it: the installed copy has no patches, tests or sources of ours
      const top = await readdir(installed)
      for (const name of ['patches', 'test', 'lib', 'cli', 'daemon', 'simulations']) expect(top, name).to.not.include(name)

      const a = await DaemonProcess.start(join(dir.path, `a${mode.flags.length}`), ['--gateway', '127.0.0.1:0'], { cli })
      daemons.push(a)
      const b = await DaemonProcess.start(join(dir.path, `b${mode.flags.length}`), ['--bootstrap', (await a.id()).addrs[0]!], { cli })
      daemons.push(b)
      const gateway = /gateway: +(http:\/\/\S+)/.exec(a.stdout)![1]!

      const published = await b.cli('module', 'publish', join(installed, 'examples', 'modules', 'echo'), '--json')
      expect(published.code, published.stderr).to.equal(0)
      const spec = join(dir.path, `echo${mode.flags.length}.json`)
      await writeFile(spec, JSON.stringify({ name: 'pecho', replicas: 2, module: 'echo@^1' }))
      await waitFor(async () => (await a.cli('module', 'resolve', 'echo@^1')).code === 0, { timeoutMs: 60_000, what: 'the catalog to reach the daemon with the gateway' })
      const deployed = await a.cli('service', 'deploy', spec, '--json')
      expect(deployed.code, deployed.stderr).to.equal(0)
      const answer = await waitFor(async () => {
        const res = await post(`${gateway}/svc/pecho/echo`, 'from the package').catch(() => undefined)
        return res?.status === 200 ? res : undefined
      }, { timeoutMs: 120_000, what: 'the gateway to answer through the deployed module' })
      expect(answer.body).to.equal('from the package')
      await killAll(daemons.splice(0))
    })
  }
})
