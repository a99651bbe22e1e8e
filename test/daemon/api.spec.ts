import { readFile, stat, writeFile, readdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { expect } from 'chai'
import { pino } from 'pino'
import { Daemon } from '../../daemon/index.js'
import { ApiClient } from '../../lib/client/index.js'
import { ApiSocketPathTooLongError, ConfigError, DaemonNotRunningError, DialFailedError, InvalidMultiaddrError, RepoInUseError } from '../../lib/interface/errors.js'
import { initRepo } from '../../lib/repo/init.js'
import { repoPaths } from '../../lib/repo/paths.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const silent = pino({ level: 'silent' })
const local = { profile: 'local' as const, listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent }

/** A raw request, to check status codes and bodies exactly as other languages see them. */
async function raw (socketPath: string, method: string, path: string, body?: string | Buffer): Promise<{ status: number, json: any, text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => {
        let json: any
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, json, text })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('daemon and control API (in process)', function () {
  let dir: Awaited<ReturnType<typeof tmpDir>>
  const daemons: Daemon[] = []

  beforeEach(async () => { dir = await tmpDir() })
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map(async d => d.stop()))
    await dir.cleanup()
  })

  async function start (name: string, extra: Partial<Parameters<typeof Daemon.start>[0]> = {}): Promise<{ daemon: Daemon, client: ApiClient }> {
    const repo = join(dir.path, name)
    const daemon = await Daemon.start({ repo, ...local, ...extra })
    daemons.push(daemon)
    return { daemon, client: new ApiClient({ socketPath: daemon.paths.apiSocket, repo }) }
  }

  it('initialises a fresh repo on start and answers id, status and health', async () => {
    const { daemon, client } = await start('a')
    const id = await client.id()
    expect(id.peerId).to.equal(daemon.peerId.toString())
    expect(id.agentVersion).to.match(/^noodled\//)
    expect(id.addrs).to.have.length.greaterThan(0)
    for (const a of id.addrs) expect(a).to.match(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${id.peerId}$`))
    expect(id.protocols).to.include('/noodle/kad/1.0.0')

    const status = await client.status()
    expect(status).to.include({ peerId: id.peerId, peers: 0, repo: daemon.paths.root, profile: 'local', pid: process.pid })
    expect(await client.health()).to.include({ status: 'ok' })
  })

  it('makes the API socket 0600 and writes the pid file', async () => {
    const { daemon } = await start('a')
    expect((await stat(daemon.paths.apiSocket)).mode & 0o777).to.equal(0o600)
    expect((await readFile(daemon.paths.pidFile, 'utf8')).trim()).to.equal(String(process.pid))
  })

  it('connects to a peer on request and lists it with its latency', async () => {
    const a = await start('a')
    const b = await start('b')
    const addr = (await a.client.id()).addrs[0]!
    const res = await b.client.connect(addr)
    expect(res.peerId).to.equal(a.daemon.peerId.toString())
    const peers = await waitFor(async () => {
      const list = await b.client.peers()
      return list.length === 1 ? list : undefined
    }, { what: 'b to list a' })
    expect(peers[0]).to.include({ peerId: a.daemon.peerId.toString(), direction: 'outbound' })
    expect(peers[0]!.addr).to.include('/ip4/127.0.0.1/tcp/')
    expect(peers[0]!.latencyMs).to.be.a('number')
    expect((await a.client.peers()).map(p => p.peerId)).to.deep.equal([b.daemon.peerId.toString()])
  })

  it('answers bad requests with named JSON errors and proper status codes', async () => {
    const { daemon, client } = await start('a')
    const sock = daemon.paths.apiSocket

    const notFound = await raw(sock, 'GET', '/api/v1/nope')
    expect(notFound.status).to.equal(404)
    expect(notFound.json.error.name).to.equal('NotFoundError')

    const wrongMethod = await raw(sock, 'DELETE', '/api/v1/status')
    expect(wrongMethod.status).to.equal(405)
    expect(wrongMethod.json.error).to.include({ name: 'MethodNotAllowedError' })

    const badJson = await raw(sock, 'POST', '/api/v1/connect', '{"addr": ')
    expect(badJson.status).to.equal(400)
    expect(badJson.json.error.name).to.equal('InvalidRequestError')

    const missing = await raw(sock, 'POST', '/api/v1/connect', '{"address":"x"}')
    expect(missing.status).to.equal(400)

    const tooLarge = await raw(sock, 'POST', '/api/v1/connect', Buffer.alloc(70 * 1024, 'a'))
    expect(tooLarge.status).to.equal(413)
    expect(tooLarge.json.error.name).to.equal('PayloadTooLargeError')

    await expect(client.connect('not a multiaddr')).to.be.rejectedWith(InvalidMultiaddrError)
    await expect(client.connect('/ip4/127.0.0.1/tcp/1')).to.be.rejectedWith(DialFailedError)

    // still healthy after all of that
    expect((await client.health()).status).to.equal('ok')
  })

  it('serves Prometheus metrics, libp2p\'s included', async () => {
    const { client } = await start('a')
    const text = await client.metrics()
    expect(text).to.match(/^# HELP noodled_process_cpu/m)
    expect(text).to.match(/^libp2p_\w+/m)
    expect(text).to.match(/noodled_dht/)
  })

  it('refuses a second daemon on a repo in use', async () => {
    const { daemon } = await start('a')
    await expect(Daemon.start({ repo: daemon.paths.root, ...local })).to.be.rejectedWith(RepoInUseError, /in use/)
    // the first one is unharmed
    const client = new ApiClient({ socketPath: daemon.paths.apiSocket, repo: daemon.paths.root })
    expect((await client.health()).status).to.equal('ok')
  })

  it('stops on a shutdown request, removing the socket and pid file', async () => {
    const { daemon, client } = await start('a')
    expect(await client.shutdown()).to.deep.equal({ stopping: true })
    await daemon.stopped
    await expect(stat(daemon.paths.apiSocket)).to.be.rejected
    await expect(stat(daemon.paths.pidFile)).to.be.rejected
    await expect(client.health()).to.be.rejectedWith(DaemonNotRunningError, daemon.paths.root)
  })

  it('keeps its peer id and remembers its peers across restarts', async () => {
    const a = await start('a')
    const b = await start('b', { bootstrap: [(await a.client.id()).addrs[0]!] })
    const bId = b.daemon.peerId.toString()
    await waitFor(() => b.daemon.node.getConnections(a.daemon.peerId).length > 0, { what: 'b to join a' })
    await b.daemon.stop()
    daemons.splice(daemons.indexOf(b.daemon), 1)

    // no bootstrap this time: b must find a again from its persistent peer store
    const again = await start('b')
    expect(again.daemon.peerId.toString()).to.equal(bId)
    await waitFor(() => again.daemon.node.getConnections(a.daemon.peerId).length > 0, { what: 'b to redial a from memory' })
  })

  it('refuses a bad config.json without touching the repo', async () => {
    const root = join(dir.path, 'bad')
    await initRepo(root)
    const paths = repoPaths(root)
    const broken = JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: ['/ip4/1.2.3.4/tcp/x'] })
    await writeFile(paths.config, broken)
    const before = (await readdir(root)).sort()

    const err = await Daemon.start({ repo: root, logger: silent }).then(() => undefined, (e: unknown) => e)
    expect(err).to.be.instanceOf(ConfigError)
    expect((err as ConfigError).key).to.equal('bootstrap[0]')
    expect((err as Error).message).to.include(paths.config)

    expect((await readdir(root)).sort()).to.deep.equal(before)
    expect(await readFile(paths.config, 'utf8')).to.equal(broken)
  })

  it('rejects bad command-line flags, naming the flag, before creating a repo', async () => {
    const root = join(dir.path, 'a')
    const err = await Daemon.start({ repo: root, logger: silent, listen: ['127.0.0.1:4010'] }).then(() => undefined, (e: unknown) => e)
    expect(err).to.be.instanceOf(ConfigError)
    expect((err as Error).message).to.include('command-line flags').and.include('listen[0]')
    await expect(stat(root)).to.be.rejected
  })

  it('refuses a repo path too long for a Unix socket before touching it', async () => {
    const root = join(dir.path, 'x'.repeat(100))
    await expect(Daemon.start({ repo: root, ...local })).to.be.rejectedWith(ApiSocketPathTooLongError, /shorter --repo/)
    await expect(stat(root)).to.be.rejected
  })
})
