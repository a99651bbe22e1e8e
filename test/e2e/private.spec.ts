import { copyFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import type { MemberView } from '../../lib/interface/api.js'
import { DaemonProcess, killAll, runCli } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

describe('a private mesh across real daemon processes', function () {
  this.timeout(120_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: DaemonProcess[] = []
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('noodled init --private: a daemon given the swarm key joins; one without it is refused and keeps retrying', async () => {
    dir = await tmpDir()
    const repo = (name: string): string => join(dir.path, name)
    const init = await runCli(['--repo', repo('a'), 'init', '--private', '--json'])
    expect(init.code, init.stderr).to.equal(0)
    const keyFile = JSON.parse(init.stdout).swarmKey as string
    // b gets a copy of the key (as an operator would copy it), c does not
    for (const name of ['b', 'c']) expect((await runCli(['--repo', repo(name), 'init'])).code).to.equal(0)
    await copyFile(keyFile, join(repo('b'), 'swarm.key'))
    expect((await stat(join(repo('b'), 'swarm.key'))).mode & 0o077).to.equal(0)

    const a = await DaemonProcess.start(repo('a'), ['--log-level', 'warn'])
    daemons.push(a)
    const boot = (await a.id()).addrs[0]!
    const b = await DaemonProcess.start(repo('b'), ['--bootstrap', boot, '--log-level', 'warn'])
    const c = await DaemonProcess.start(repo('c'), ['--bootstrap', boot, '--log-level', 'warn'])
    daemons.push(b, c)
    const members = async (d: DaemonProcess): Promise<string[]> => (JSON.parse((await d.cli('members', '--json')).stdout) as MemberView[]).map(m => m.peerId)
    const [ida, idb, idc] = await Promise.all([a, b, c].map(async d => (await d.id()).peerId))
    await waitFor(async () => (await members(a)).length === 2 && (await members(b)).length === 2, { timeoutMs: 60_000, what: 'a and b to list each other' })
    // c's dials to a fail, and it says so while retrying
    await waitFor(() => c.stderr.includes('bootstrap peer unreachable'), { timeoutMs: 60_000, what: 'c to report its bootstrap peer unreachable' })
    expect((await members(a)).sort()).to.deep.equal([ida, idb].sort())
    expect(await members(c)).to.deep.equal([idc])
    expect(c.running).to.equal(true)
  })
})
