import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { DaemonProcess, killAll, runCli } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

describe('capability tokens and the audit trail across daemon processes', function () {
  this.timeout(180_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('an invite with a capability lets the new node deploy within it and nothing else; a plain member is refused; revoke, audit ls, and audit verify catching an edited entry', async () => {
    dir = await tmpDir()
    const repo = (name: string): string => join(dir.path, name)
    const init = await runCli(['--repo', repo('a'), 'init', '--private', '--json'])
    expect(init.code, init.stderr).to.equal(0)
    expect(JSON.parse(init.stdout).operator).to.match(/^did:key:z6Mk/)
    const a = await DaemonProcess.start(repo('a'), ['--log-level', 'warn'])
    daemons.push(a)
    const ls = JSON.parse((await a.cli('auth', 'ls', '--json')).stdout)
    expect(ls.enforcing).to.equal(true)
    expect(ls.operator).to.equal(true)

    // b joins with the right to deploy web*; c joins with no capability
    const withCap = await a.cli('invite', 'create', '--ttl', '1h', '--can', 'service/deploy', '--with', 'svc:web*')
    expect(withCap.code, withCap.stderr).to.equal(0)
    const plain = await a.cli('invite', 'create', '--ttl', '1h')
    expect((await runCli(['--repo', repo('b'), 'init', '--join', withCap.stdout.trim()])).code).to.equal(0)
    expect((await runCli(['--repo', repo('c'), 'init', '--join', plain.stdout.trim()])).code).to.equal(0)
    const b = await DaemonProcess.start(repo('b'), ['--log-level', 'warn'])
    const c = await DaemonProcess.start(repo('c'), ['--log-level', 'warn'])
    daemons.push(b, c)
    const held = JSON.parse((await b.cli('auth', 'ls', '--json')).stdout)
    expect(held.held.map((t: any) => t.capabilities[0])).to.deep.equal([{ can: 'service/deploy', with: 'svc:web*' }])

    const spec = async (name: string): Promise<string> => {
      const file = join(dir.path, `${name}.json`)
      await writeFile(file, JSON.stringify({ name, replicas: 1 }))
      return file
    }
    const ok = await b.cli('service', 'deploy', await spec('web-1'))
    expect(ok.code, ok.stderr).to.equal(0)
    const outside = await b.cli('service', 'deploy', await spec('db'))
    expect(outside.code).to.equal(1)
    expect(outside.stderr).to.match(/UnauthorizedError: this node holds no token for service\/deploy on svc:db/)
    const none = await c.cli('service', 'deploy', await spec('web-2'))
    expect(none.code).to.equal(1)
    expect(none.stderr).to.include('UnauthorizedError')
    await waitFor(async () => (await a.cli('service', 'ls', '--json')).stdout.includes('web-1'), { timeoutMs: 60_000, what: 'b\'s deploy on a' })

    // revoke b's token from the operator's node: b is refused from then on
    const issued = JSON.parse((await a.cli('auth', 'ls', '--json')).stdout).issued.find((t: any) => t.capabilities[0].with === 'svc:web*')
    const revoked = await a.cli('auth', 'revoke', issued.id)
    expect(revoked.code, revoked.stderr).to.equal(0)
    await waitFor(async () => JSON.parse((await b.cli('auth', 'ls', '--json')).stdout).revoked.length === 1, { timeoutMs: 60_000, what: 'the revocation at b' })
    expect((await b.cli('service', 'deploy', await spec('web-3'))).code).to.equal(1)

    const audit = JSON.parse((await a.cli('audit', 'ls', '--json')).stdout) as Array<{ type: string, detail: any }>
    expect(audit.map(e => e.type)).to.include.members(['start', 'delegate', 'accepted', 'revoke'])
    expect((await a.cli('audit', 'verify')).stdout).to.match(/^ok: \d+ entries/)

    // edit one entry on disk while a is stopped: verify fails, by name and entry
    await a.kill('SIGTERM')
    const ds = new LevelDatastore(join(repo('a'), 'datastore'))
    await ds.open()
    const k = new Key('/noodle/audit/log/000000000002')
    const entry = JSON.parse(new TextDecoder().decode(await ds.get(k)))
    entry.detail = { ...entry.detail, edited: true }
    await ds.put(k, new TextEncoder().encode(JSON.stringify(entry)))
    await ds.close()
    const a2 = await DaemonProcess.start(repo('a'), ['--log-level', 'warn'])
    daemons.push(a2)
    const broken = await a2.cli('audit', 'verify')
    expect(broken.code).to.equal(1)
    expect(broken.stdout).to.include('BROKEN at entry 2')
  })
})
