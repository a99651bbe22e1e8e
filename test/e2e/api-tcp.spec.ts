import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { DaemonProcess, killAll, runCli } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'

describe('the TCP control API (bearer token)', function () {
  this.timeout(120_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('answers 401 without the token, serves with it, and the CLI reaches it with --api-url', async () => {
    dir = await tmpDir()
    const repo = join(dir.path, 'a')
    expect((await runCli(['--repo', repo, 'init', '--operator'])).code).to.equal(0)
    const a = await DaemonProcess.start(repo, ['--api', '127.0.0.1:0', '--log-level', 'warn'])
    daemons.push(a)
    const url = /api tcp:\s+(http:\/\/\S+)/.exec(a.stdout)?.[1]
    expect(url, a.stdout).to.be.a('string')
    const tokenFile = join(repo, 'api.token')
    expect((await stat(tokenFile)).mode & 0o777).to.equal(0o600)

    const none = await fetch(`${url!}/api/v1/status`)
    expect(none.status).to.equal(401)
    expect(none.headers.get('www-authenticate')).to.match(/^Bearer/)
    expect(((await none.json()) as any).error.name).to.equal('UnauthenticatedError')
    const wrong = await fetch(`${url!}/api/v1/services`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'web', replicas: 1 }) })
    expect(wrong.status).to.equal(401)

    const { readFile } = await import('node:fs/promises')
    const token = (await readFile(tokenFile, 'utf8')).trim()
    const ok = await fetch(`${url!}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).to.equal(200)
    expect(((await ok.json()) as any).peerId).to.equal((await a.id()).peerId)

    // the CLI over TCP: the token from the environment, then a wrong one
    const cli = await runCli(['--repo', join(dir.path, 'elsewhere'), '--api-url', url!, 'status', '--json'], { env: { ...process.env, NOODLE_API_TOKEN: token } })
    expect(cli.code, cli.stderr).to.equal(0)
    const refused = await runCli(['--repo', join(dir.path, 'elsewhere'), '--api-url', url!, 'status'], { env: { ...process.env, NOODLE_API_TOKEN: 'x'.repeat(43) } })
    expect(refused.code).to.equal(1)
    expect(refused.stderr).to.include('UnauthenticatedError')

    // refusals are audited (at most one entry per 10 s, with the count)
    const audit = JSON.parse((await a.cli('audit', 'ls', '--json')).stdout) as Array<{ type: string, detail: any }>
    expect(audit.some(e => e.type === 'api-unauthenticated')).to.equal(true)
  })
})
