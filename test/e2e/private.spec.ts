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

  it('noodled init --private: a daemon given the swarm key joins; one without it is refused and keeps retrying; invite create / init --join carry the key and addresses; damaged and expired invites are refused', async () => {
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

    // an invite carries the addresses and the key: d joins with nothing but it
    const created = await a.cli('invite', 'create', '--ttl', '1h')
    expect(created.code, created.stderr).to.equal(0)
    const invite = created.stdout.trim()
    expect(invite).to.match(/^noodle-invite-v1:[A-Za-z0-9_-]+$/)
    const joined = await runCli(['--repo', repo('d'), 'init', '--join', invite, '--json'])
    expect(joined.code, joined.stderr).to.equal(0)
    expect((await stat(join(repo('d'), 'swarm.key'))).mode & 0o777).to.equal(0o600)
    const d = await DaemonProcess.start(repo('d'), ['--log-level', 'warn'])
    daemons.push(d)
    const idd = (await d.id()).peerId
    await waitFor(async () => (await members(a)).includes(idd) && (await members(d)).includes(ida!), { timeoutMs: 60_000, what: 'd to join through the invite' })
    // damaged and expired invites are refused by name, and leave no repo behind
    const damaged = await runCli(['--repo', repo('e'), 'init', '--join', invite.slice(0, -10)])
    expect(damaged.code).to.equal(1)
    expect(damaged.stderr).to.include('the invite is damaged')
    const expired = await a.cli('invite', 'create', '--ttl', '1ms')
    const late = await runCli(['--repo', repo('e'), 'init', '--join', expired.stdout.trim()])
    expect(late.code).to.equal(1)
    expect(late.stderr).to.match(/the invite expired at .*; ask for a new one/)
    expect(await stat(repo('e')).then(() => true, () => false)).to.equal(false)
  })
})
