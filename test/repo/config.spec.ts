import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { ConfigError } from '../../lib/interface/errors.js'
import { loadConfig, parseConfig } from '../../lib/repo/config.js'
import { tmpDir } from '../utils/tmp-repo.js'

function configError (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('config validation', () => {
  it('accepts an empty object and fills in the defaults', () => {
    const config = parseConfig({}, 'config.json')
    expect(config).to.deep.equal({
      version: 1,
      profile: 'lan',
      listen: ['/ip4/0.0.0.0/tcp/4010'],
      announce: [],
      auth: { operators: [] },
      bootstrap: [],
      protocolPrefix: '/noodle',
      logLevel: 'info',
      labels: {},
      rpc: {},
      membership: {},
      runtime: { policy: {} },
      knowledge: {}
    })
  })

  it('takes the replicas of each knowledge graph, 0 to 16', () => {
    expect(parseConfig({ knowledge: { replicas: 3 } }, 'f').knowledge).to.deep.equal({ replicas: 3 })
    expect(() => parseConfig({ knowledge: { replicas: 17 } }, 'f')).to.throw(/knowledge\.replicas/)
  })

  it('takes a runtime policy and refuses a bad one naming the key', () => {
    const config = parseConfig({ runtime: { policy: { kv: false, http: ['*.example.com'], paths: ['/srv/data'], maxMemoryPages: 256 }, instancesPerService: 4 } }, 'f')
    expect(config.runtime).to.deep.equal({ policy: { kv: false, http: ['*.example.com'], paths: ['/srv/data'], maxMemoryPages: 256 }, instancesPerService: 4 })
    expect(configError(() => parseConfig({ runtime: { policy: { paths: ['relative'] } } }, 'f')).message).to.include('key "runtime.policy.paths[0]": an absolute path')
    expect(configError(() => parseConfig({ runtime: { policy: { sockets: true } } }, 'f')).message).to.match(/sockets/)
    expect(configError(() => parseConfig({ runtime: { instancesPerService: 0 } }, 'f')).message).to.match(/runtime\.instancesPerService/)
  })

  it('takes a gateway address and an rpc message limit, and refuses bad ones naming the key', () => {
    expect(parseConfig({ gateway: '127.0.0.1:8080', rpc: { maxMessageBytes: 65536 } }, 'f')).to.include({ gateway: '127.0.0.1:8080' })
    expect(configError(() => parseConfig({ gateway: '127.0.0.1' }, 'f')).message).to.match(/gateway.*HOST:PORT/)
    expect(configError(() => parseConfig({ gateway: 'localhost:70000' }, 'f')).message).to.match(/gateway.*0-65535/)
    expect(parseConfig({ ui: '[::1]:0' }, 'f')).to.include({ ui: '[::1]:0' })
    expect(configError(() => parseConfig({ ui: 'http://127.0.0.1:5080' }, 'f')).message).to.match(/ui.*HOST:PORT/)
    expect(configError(() => parseConfig({ rpc: { maxMessageBytes: 10 } }, 'f')).message).to.match(/rpc\.maxMessageBytes/)
  })

  it('keeps given values', () => {
    const config = parseConfig({ profile: 'local', bootstrap: ['/ip4/10.0.0.1/tcp/4010/p2p/12D3KooWBmgywJETZpZ2ZQ1puecwJXYJR9vxwZUhx9t625H7dDpb'] }, 'f')
    expect(config.profile).to.equal('local')
    expect(config.bootstrap).to.have.length(1)
  })

  it('names an unknown key and the file', () => {
    const err = configError(() => parseConfig({ listen: ['/ip4/127.0.0.1/tcp/1'], bootstrapp: [] }, '/r/config.json'))
    expect(err.key).to.equal('bootstrapp')
    expect(err.file).to.equal('/r/config.json')
    expect(err.message).to.include('unknown key "bootstrapp"').and.include('/r/config.json')
  })

  it('names the index of a bad multiaddr', () => {
    const err = configError(() => parseConfig({ bootstrap: ['/ip4/127.0.0.1/tcp/1', 'not-a-multiaddr'] }, '/r/config.json'))
    expect(err.key).to.equal('bootstrap[1]')
    expect(err.message).to.include('bootstrap[1]').and.include('not a valid multiaddr').and.include('not-a-multiaddr')
  })

  it('rejects a multiaddr with an unknown protocol', () => {
    const err = configError(() => parseConfig({ listen: ['/ip4/127.0.0.1/bogus/1'] }, 'c'))
    expect(err.key).to.equal('listen[0]')
  })

  it('rejects an unknown profile and a wrong type', () => {
    expect(configError(() => parseConfig({ profile: 'wan-ish' }, 'c')).key).to.equal('profile')
    expect(configError(() => parseConfig({ listen: '/ip4/127.0.0.1/tcp/1' }, 'c')).key).to.equal('listen')
    expect(configError(() => parseConfig({ protocolPrefix: 'noodle/' }, 'c')).key).to.equal('protocolPrefix')
    expect(configError(() => parseConfig({ listen: [] }, 'c')).key).to.equal('listen')
  })

  it('validates labels and membership timing, naming the nested key', () => {
    expect(parseConfig({ labels: { zone: 'a' }, membership: { timing: 'wan', targetPeers: 4 } }, 'c').membership.timing).to.equal('wan')
    expect(configError(() => parseConfig({ labels: { 'bad key!': 'x' } }, 'c')).key).to.equal('labels.bad key!')
    expect(configError(() => parseConfig({ membership: { timing: 'moon' } }, 'c')).key).to.equal('membership.timing')
    expect(configError(() => parseConfig({ membership: { probeTimeoutMs: -5 } }, 'c')).key).to.equal('membership.probeTimeoutMs')
    expect(configError(() => parseConfig({ membership: { probeTimeout: 5 } }, 'c')).key).to.equal('membership.probeTimeout')
    // host load per point of local health: 0 turns it off, a negative one is refused by name
    expect(parseConfig({ membership: { loadPerHealthPoint: 0 } }, 'c').membership.loadPerHealthPoint).to.equal(0)
    expect(configError(() => parseConfig({ membership: { loadPerHealthPoint: -1 } }, 'c')).key).to.equal('membership.loadPerHealthPoint')
    expect(parseConfig({ membership: { maxLocalHealth: 8 } }, 'c').membership.maxLocalHealth).to.equal(8)
    expect(configError(() => parseConfig({ membership: { maxLocalHealth: 2.5 } }, 'c')).key).to.equal('membership.maxLocalHealth')
  })

  it('rejects a config that is not an object', () => {
    const err = configError(() => parseConfig([1, 2], '/r/config.json'))
    expect(err.message).to.include('/r/config.json')
  })

  describe('loadConfig', () => {
    let dir: Awaited<ReturnType<typeof tmpDir>>
    beforeEach(async () => { dir = await tmpDir() })
    afterEach(async () => { await dir.cleanup() })

    it('reports invalid JSON with the file name', async () => {
      const file = join(dir.path, 'config.json')
      await writeFile(file, '{ "profile": "lan", ')
      const err = await loadConfig(file).then(() => undefined, (e: unknown) => e)
      expect(err).to.be.instanceOf(ConfigError)
      expect((err as Error).message).to.include(file).and.include('not valid JSON')
    })

    it('reports a missing file and how to create it', async () => {
      const file = join(dir.path, 'config.json')
      const err = await loadConfig(file).then(() => undefined, (e: unknown) => e)
      expect(err).to.be.instanceOf(ConfigError)
      expect((err as Error).message).to.include('noodled init')
    })
  })
})
