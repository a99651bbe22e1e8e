import { createServer, type Server } from 'node:http'
import { createServer as createSocketServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { defaultLogger } from '@libp2p/logger'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { ConflictError, InvalidRegistrationError, ServiceNotFoundError } from '../../lib/interface/errors.js'
import { ExternalServices, type ExternalInstance } from '../../lib/registry/index.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

async function listen (status = 200): Promise<{ server: Server, url: string, hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    res.writeHead(req.url === '/broken' ? 500 : status).end('ok')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

async function close (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

function expectThrow (fn: () => unknown, type: new (...args: any[]) => Error, pattern: RegExp): void {
  try {
    fn()
  } catch (err: any) {
    expect(err).to.be.instanceOf(type)
    expect(err.message).to.match(pattern)
    return
  }
  expect.fail('expected an error')
}

describe('external services', () => {
  const log = defaultLogger().forComponent('test:external')
  let ext: ExternalServices | undefined
  const servers: Server[] = []
  afterEach(async () => {
    ext?.stop()
    for (const s of servers.splice(0)) await close(s)
  })

  it('an http check passes on 2xx and fails when the endpoint errors or goes away', async () => {
    const { server, url, hits } = await listen()
    servers.push(server)
    ext = new ExternalServices({ datastore: new MemoryDatastore(), log })
    await ext.start()
    const changes: ExternalInstance[] = []
    ext.addEventListener('change', (evt) => { changes.push(evt.detail) })
    const reg = await ext.register({ name: 'py', endpoint: url, check: { type: 'http', path: '/health', intervalMs: 100 } })
    expect(reg.status).to.equal('critical')
    expect(ext.healthy()).to.deep.equal([])
    await waitFor(() => ext!.get('py')?.status === 'passing', { what: 'the first check to pass' })
    expect(hits).to.include('/health')
    expect(ext.healthy()).to.deep.equal(['py'])
    expect(ext.get('py')!.output).to.equal('HTTP 200')

    await ext.register({ name: 'py', endpoint: url, check: { type: 'http', path: '/broken', intervalMs: 100 } })
    await waitFor(() => ext!.get('py')?.output === `HTTP 500 from ${url}/broken`, { what: 'a 500 to fail the check' })
    expect(ext.healthy()).to.deep.equal([])

    await ext.register({ name: 'py', endpoint: url, check: { type: 'http', intervalMs: 100 } })
    await waitFor(() => ext!.get('py')?.status === 'passing', { what: 'passing again' })
    await close(server)
    servers.length = 0
    await waitFor(() => ext!.get('py')?.status === 'critical', { what: 'the check to fail once the endpoint is gone' })
    expect(ext.get('py')!.output).to.match(/ECONNREFUSED/)
    expect(changes.map(c => c.status)).to.include.members(['passing', 'critical'])
  })

  it('a tcp check follows whether the port accepts connections', async () => {
    const { server, url } = await listen()
    ext = new ExternalServices({ datastore: new MemoryDatastore(), log })
    await ext.start()
    await ext.register({ name: 'db', endpoint: url, check: { type: 'tcp', intervalMs: 100 } })
    await waitFor(() => ext!.get('db')?.status === 'passing', { what: 'tcp check to pass' })
    await close(server)
    await waitFor(() => ext!.get('db')?.status === 'critical', { what: 'tcp check to fail' })
  })

  it('a tcp check on an rpc+unix endpoint follows whether its socket accepts connections', async () => {
    const dir = await tmpDir()
    const path = join(dir.path, 'svc.sock')
    const server = createSocketServer((socket) => { socket.destroy() })
    await new Promise<void>(resolve => server.listen(path, resolve))
    try {
      ext = new ExternalServices({ datastore: new MemoryDatastore(), log })
      await ext.start()
      await ext.register({ name: 'py', endpoint: `rpc+unix://${path}`, check: { type: 'tcp', intervalMs: 100 } })
      await waitFor(() => ext!.get('py')?.status === 'passing', { what: 'the socket check to pass' })
      expect(ext.get('py')!.output).to.equal(`connected to Unix socket ${path}`)
      await new Promise(resolve => server.close(resolve))
      await waitFor(() => ext!.get('py')?.status === 'critical', { what: 'the socket check to fail' })
      expect(ext.get('py')!.output).to.match(/ENOENT|ECONNREFUSED/)
    } finally {
      server.close()
      await dir.cleanup()
    }
  })

  it('a ttl check passes for ttl after each pass, and only ttl checks take a pass', async () => {
    ext = new ExternalServices({ datastore: new MemoryDatastore(), log })
    await ext.start()
    await ext.register({ name: 'worker', endpoint: 'http://127.0.0.1:1', check: { type: 'ttl', ttlMs: 300 } })
    expect(ext.get('worker')!.status).to.equal('critical')
    expect(ext.pass('worker', 'all good').status).to.equal('passing')
    expect(ext.get('worker')!.output).to.equal('all good')
    await waitFor(() => ext!.get('worker')?.status === 'critical', { what: 'the ttl to run out' })
    expect(ext.get('worker')!.output).to.match(/no pass within the ttl of 300 ms/)
    await ext.register({ name: 'plain', endpoint: 'http://127.0.0.1:1' })
    expect(ext.get('plain')!.status).to.equal('passing')
    expectThrow(() => ext!.pass('plain'), ConflictError, /no check, not a ttl check/)
    expectThrow(() => ext!.pass('nope'), ServiceNotFoundError, /no external service "nope"/)
  })

  it('registrations survive a restart; deregister forgets them; bad input names the field', async () => {
    const datastore = new MemoryDatastore()
    ext = new ExternalServices({ datastore, log })
    await ext.start()
    await ext.register({ name: 'a', endpoint: 'http://127.0.0.1:1/x' })
    await ext.register({ name: 'b', endpoint: 'https://example.test', check: { type: 'ttl' } })
    ext.stop()
    ext = new ExternalServices({ datastore, log })
    await ext.start()
    expect(ext.list().map(e => [e.name, e.endpoint, e.check?.type])).to.deep.equal([['a', 'http://127.0.0.1:1/x', undefined], ['b', 'https://example.test', 'ttl']])
    await ext.deregister('a')
    expect(ext.list().map(e => e.name)).to.deep.equal(['b'])
    let err: any
    try { await ext.deregister('a') } catch (e) { err = e }
    expect(err).to.be.instanceOf(ServiceNotFoundError)

    for (const [input, pattern] of [
      [{ name: 'Bad Name', endpoint: 'http://x' }, /"name": lower-case/],
      [{ name: 'ok', endpoint: 'ftp://x' }, /"endpoint": must be an http/],
      [{ name: 'ok', endpoint: 'builtin:nope' }, /"endpoint": must be an http.*builtin:echo/],
      [{ name: 'ok', endpoint: 'builtin:echo', check: { type: 'http' } }, /"check": a built-in endpoint runs inside the daemon/],
      [{ name: 'ok', endpoint: 'rpc+unix://relative/path' }, /"endpoint": must be .*rpc\+unix:\/\/\/absolute\/path/],
      [{ name: 'ok', endpoint: 'rpc+tcp://127.0.0.1' }, /"endpoint": must be/],
      [{ name: 'ok', endpoint: 'rpc+unix:///run/x.sock', check: { type: 'http' } }, /"check": a socket endpoint speaks RPC frames/],
      [{ name: 'ok', endpoint: 'http://x', check: { type: 'icmp' } }, /"check\.type"/],
      [{ name: 'ok', endpoint: 'http://x', check: { type: 'http', intervalMs: 1 } }, /"check\.intervalMs"/],
      [{ name: 'ok', endpoint: 'http://x', extra: 1 }, /unknown key "extra"/]
    ] as const) {
      let e: any
      try { await ext.register(input) } catch (x) { e = x }
      expect(e, JSON.stringify(input)).to.be.instanceOf(InvalidRegistrationError)
      expect(e.message).to.match(pattern)
    }
  })
})
