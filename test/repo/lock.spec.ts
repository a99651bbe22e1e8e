import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { expect } from 'chai'
import { RepoInUseError } from '../../lib/interface/errors.js'
import { initRepo } from '../../lib/repo/init.js'
import { lockRepo } from '../../lib/repo/lock.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { tmpDir } from '../utils/tmp-repo.js'

describe('repo lock', () => {
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let root: string
  beforeEach(async () => {
    dir = await tmpDir()
    root = join(dir.path, 'r')
    await initRepo(root)
  })
  afterEach(async () => { await dir.cleanup() })

  it('writes the pid file while held and removes it on release', async () => {
    const paths = repoPaths(root)
    const lock = await lockRepo(paths)
    expect((await readFile(paths.pidFile, 'utf8')).trim()).to.equal(String(process.pid))
    await lock.release()
    await expect(stat(paths.pidFile)).to.be.rejected
  })

  it('refuses a second holder with a message naming the repo', async () => {
    const paths = repoPaths(root)
    const lock = await lockRepo(paths)
    try {
      await expect(lockRepo(paths)).to.be.rejectedWith(RepoInUseError, new RegExp(`repo ${root} is in use`))
      // the first holder still works after the refused attempt
      await lock.datastore.put(new (await import('interface-datastore')).Key('/k'), Uint8Array.of(1))
    } finally {
      await lock.release()
    }
    const again = await lockRepo(paths)
    await again.release()
  })

  it('removes a stale socket and pid file left by a crash', async () => {
    const paths = repoPaths(root)
    await writeFile(paths.pidFile, '999999\n')
    // a real socket file with nobody behind it, as a killed daemon leaves
    const server = createServer()
    await new Promise<void>(resolve => server.listen(paths.apiSocket, resolve))
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await writeFile(paths.apiSocket, '').catch(() => {})

    const lock = await lockRepo(paths)
    try {
      expect(lock.cleaned).to.include(paths.pidFile)
      expect(lock.cleaned).to.include(paths.apiSocket)
      expect((await readFile(paths.pidFile, 'utf8')).trim()).to.equal(String(process.pid))
      await expect(stat(paths.apiSocket)).to.be.rejected
    } finally {
      await lock.release()
    }
  })
})
