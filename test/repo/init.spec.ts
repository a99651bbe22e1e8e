import { chmod, readFile, stat } from 'node:fs/promises'
import { expect } from 'chai'
import { ConfigError, KeyFileError, RepoExistsError } from '../../lib/interface/errors.js'
import { initRepo, isInitialized } from '../../lib/repo/init.js'
import { loadKey } from '../../lib/repo/keys.js'
import { repoPaths, resolveRepoPath } from '../../lib/repo/paths.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { join } from 'node:path'
import { tmpDir } from '../utils/tmp-repo.js'

describe('repo init and identity', () => {
  let dir: Awaited<ReturnType<typeof tmpDir>>
  beforeEach(async () => { dir = await tmpDir() })
  afterEach(async () => { await dir.cleanup() })

  it('creates config.json and a 0600 Ed25519 key in a 0700 directory', async () => {
    const root = join(dir.path, 'r')
    const result = await initRepo(root, { profile: 'local' })
    const paths = repoPaths(root)
    expect((await stat(root)).mode & 0o777).to.equal(0o700)
    expect((await stat(paths.key)).mode & 0o777).to.equal(0o600)
    expect(JSON.parse(await readFile(paths.config, 'utf8')).profile).to.equal('local')
    const key = await loadKey(paths.key)
    expect(key.type).to.equal('Ed25519')
    expect(peerIdFromPrivateKey(key).toString()).to.equal(result.peerId)
    expect(await isInitialized(root)).to.equal(true)
  })

  it('loads the same identity every time', async () => {
    const root = join(dir.path, 'r')
    const { peerId } = await initRepo(root)
    for (let i = 0; i < 3; i++) {
      expect(peerIdFromPrivateKey(await loadKey(repoPaths(root).key)).toString()).to.equal(peerId)
    }
  })

  it('refuses to initialise a repo twice, keeping the identity', async () => {
    const root = join(dir.path, 'r')
    const { peerId } = await initRepo(root)
    await expect(initRepo(root)).to.be.rejectedWith(RepoExistsError)
    expect(peerIdFromPrivateKey(await loadKey(repoPaths(root).key)).toString()).to.equal(peerId)
  })

  it('validates the config before creating anything', async () => {
    const root = join(dir.path, 'r')
    await expect(initRepo(root, { listen: ['nope'] })).to.be.rejectedWith(ConfigError)
    expect(await isInitialized(root)).to.equal(false)
    await expect(stat(root)).to.be.rejected
  })

  it('refuses a key file that others can read', async () => {
    const root = join(dir.path, 'r')
    await initRepo(root)
    await chmod(repoPaths(root).key, 0o644)
    await expect(loadKey(repoPaths(root).key)).to.be.rejectedWith(KeyFileError, /chmod 600/)
  })

  it('resolves the repo from --repo, then $NOODLE_PATH, then ~/.noodle', () => {
    expect(resolveRepoPath('/a', { NOODLE_PATH: '/b' })).to.equal('/a')
    expect(resolveRepoPath(undefined, { NOODLE_PATH: '/b' })).to.equal('/b')
    expect(resolveRepoPath(undefined, {})).to.match(/\.noodle$/)
  })
})
