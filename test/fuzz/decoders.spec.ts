import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MemoryDatastore } from 'datastore-core'
import fc from 'fast-check'
import { Authority } from '../../lib/auth/authority.js'
import { didFromPublicKey } from '../../lib/auth/did.js'
import { signRevocation, verifyRevocation } from '../../lib/auth/revocation.js'
import { decodeToken } from '../../lib/auth/token.js'
import { decodeMessage, encodeMessage, probeRequestSchema, type Advert } from '../../lib/membership/wire.js'
import { decodeJson } from '../../lib/json-codec.js'
import { signEntry, verifyEntry } from '../../lib/modules/catalog-entry.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../lib/modules/block-protocol.js'
import { decodeRoot, packModule } from '../../lib/modules/content.js'
import { parseManifest } from '../../lib/modules/manifest.js'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { parseServiceSpec } from '../../lib/placement/spec.js'
import { decodeServiceRecord, encodeServiceRecord } from '../../lib/registry/dht-record.js'
import { decodeEntry, encodeEntry, type CatalogEntry } from '../../lib/registry/entry.js'
import { parseRegistration } from '../../lib/registry/external.js'
import { parseConfig } from '../../lib/repo/config.js'
import { decodeInvite, encodeInvite } from '../../lib/repo/invite.js'
import { Request, Response } from '../../lib/rpc/pb/rpc.js'
import { serviceKey } from '../../lib/placement/keys.js'
import { graceful, hostileJson, json, mutated, mutatedJson, settings, text } from './harness.js'

const example = (name: string): string => fileURLToPath(new URL(`../../../examples/modules/${name}`, import.meta.url))
const resources = { cpus: 2, load1: 0.5, load5: 0.4, load15: 0.3, memTotal: 1e9, memFree: 5e8, loopLagMs: 1, slotsTotal: 2, slotsUsed: 0, diskFree: 1e10 }
const JSON_ERRORS = ['MalformedMessageError']

/**
 * Every decoder of what peers, disks and users send, fed random and mutated
 * input (fast-check; FUZZ_RUNS cases each, 150 in npm test): each returns
 * or refuses with its own named error, quickly. `npm run fuzz` runs many more.
 */
describe('fuzz: decoders refuse hostile input by name, quickly', function () {
  this.timeout(300_000)

  it('membership adverts and claims (gossip), probe requests', async () => {
    const advert: Advert = { v: 1, type: 'advert', peerId: '12D3KooWabc', seq: 7, incarnation: 1, status: 'alive', addrs: ['/ip4/127.0.0.1/tcp/4010'], resources, labels: { zone: 'a' }, services: ['web'], version: '0.1.0' }
    const samples = [encodeMessage(advert), encodeMessage({ v: 1, type: 'suspect', target: 'x', incarnation: 2, refused: true }), encodeMessage({ v: 1, type: 'failed', target: 'x', incarnation: 2 }), json({ type: 'ping-req', nonce: 1, target: 'x', addrs: [], timeoutMs: 100 })]
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(samples), fc.uint8Array({ maxLength: 512 }), mutatedJson([advert]).map(json)), async (bytes) => {
      await graceful('decodeMessage', () => decodeMessage(bytes), JSON_ERRORS)
      await graceful('probe request', () => decodeJson(probeRequestSchema, bytes), JSON_ERRORS)
    }), settings())
  })

  it('service catalog entries (gossip, sync, disk) and their DHT records', async () => {
    const key = await generateKeyPair('Ed25519')
    const author = peerIdFromPrivateKey(key).toString()
    const entry: CatalogEntry = { name: 'web', version: 3, author, updatedAt: Date.now(), deleted: false, spec: parseServiceSpec({ name: 'web', replicas: 2, module: 'echo@^1' }) }
    const record = await encodeServiceRecord(entry, key)
    const dhtKey = serviceKey('web')
    await fc.assert(fc.asyncProperty(fc.oneof(mutated([encodeEntry(entry), encodeEntry({ ...entry, deleted: true, spec: undefined })]), mutatedJson([entry]).map(json)), mutated([record]), async (bytes, rec) => {
      await graceful('decodeEntry', () => decodeEntry(bytes), ['InvalidCatalogEntryError'])
      await graceful('decodeServiceRecord', async () => decodeServiceRecord(dhtKey, rec), ['InvalidCatalogEntryError'])
    }), settings())
  })

  it('module catalog entries, manifests, module roots and block-protocol messages', async () => {
    const key = await generateKeyPair('Ed25519')
    const { manifest, wasm } = await readModuleDir(example('echo'))
    const packed = await packModule(manifest, wasm)
    const entry = await signEntry({ name: manifest.name, version: manifest.version, cid: packed.root.toString(), dependencies: {}, publisher: peerIdFromPrivateKey(key).toString(), publishedAt: 1 }, key)
    const rootBytes = packed.blocks.find(b => b.cid.equals(packed.root))!.bytes
    const wire = [encodeRequest(packed.root).subarray(), encodeRequest(packed.root, true).subarray(), encodeResponse({ status: 'block', bytes: rootBytes } as any).subarray()]
    await fc.assert(fc.asyncProperty(mutatedJson([entry, manifest]), mutated([rootBytes]), mutated(wire), async (value, root, msg) => {
      await graceful('verifyEntry', async () => verifyEntry(value), ['BlockVerificationError'])
      await graceful('parseManifest', () => parseManifest(value), ['InvalidManifestError'])
      await graceful('decodeRoot', () => decodeRoot(root), ['BlockVerificationError'])
      await graceful('block request', () => decodeRequest(msg), ['BlockVerificationError'])
      await graceful('block response', () => decodeResponse(msg), ['BlockVerificationError'])
    }), settings())
  })

  it('RPC frames (protobuf requests and responses)', async () => {
    const req = Request.encode({ id: 1, service: 'echo', fn: 'echo', timeoutMs: 1000, idempotent: true, payload: text('hello') as Uint8Array<ArrayBuffer> })
    const res = Response.encode({ id: 1, payload: text('hello') as Uint8Array<ArrayBuffer>, error: { name: 'E', message: 'm' } })
    // protons refuses with plain Errors and RangeErrors of its own; what matters is that it refuses, at once
    await fc.assert(fc.asyncProperty(fc.oneof(mutated([req, res]), fc.uint8Array({ maxLength: 256 })), async (bytes) => {
      await graceful('Request.decode', () => Request.decode(bytes), [])
      await graceful('Response.decode', () => Response.decode(bytes), [])
    }), settings())
  })

  it('capability tokens and revocations', async () => {
    const opKey = await generateKeyPair('Ed25519')
    const operators = [didFromPublicKey(opKey.publicKey.raw)]
    const op = new Authority({ key: await generateKeyPair('Ed25519'), operatorKey: opKey, operators, datastore: new MemoryDatastore() })
    await op.start()
    const a = new Authority({ key: await generateKeyPair('Ed25519'), operators, datastore: new MemoryDatastore() })
    await a.start()
    const { token } = await op.delegate({ to: a.did, can: 'service/deploy', with: 'svc:web*' })
    await a.add(token)
    const invocation = (await a.invoke('service/deploy', 'svc:web', 'd'))!
    const revocation = await signRevocation('bafyreig5454d5yfxiv2r7dt3rrhhz32fj35k72qvtfyqntspzc6mm4aqiy', opKey)
    const samples = [Buffer.from(token, 'base64url'), Buffer.from(invocation, 'base64url')]
    const author = (await import('../../lib/auth/did.js')).peerIdFromDid(a.did)!
    await fc.assert(fc.asyncProperty(mutated(samples), mutatedJson([revocation]), async (bytes, rev) => {
      const text = Buffer.from(bytes).toString('base64url')
      await graceful('decodeToken', async () => decodeToken(text), ['InvalidTokenError'])
      await graceful('verify', async () => op.verify(text, { can: 'service/deploy', resource: 'svc:web', digest: 'd', author }), ['UnauthorizedError'])
      await graceful('add', async () => a.add(text), ['InvalidTokenError', 'UnauthorizedError'])
      await graceful('verifyRevocation', async () => verifyRevocation(rev), ['InvalidTokenError'])
    }), settings(60))
  })

  it('operator input: service specs, registrations, config files, invites', async () => {
    const spec = { name: 'web', replicas: 2, module: 'echo@^1', requirements: { slots: 1 }, capabilities: { call: ['x'] } }
    const reg = { name: 'py', endpoint: 'http://127.0.0.1:9000', check: { type: 'http', path: '/health', intervalMs: 1000, timeoutMs: 500 } }
    const config = { profile: 'local', listen: ['/ip4/127.0.0.1/tcp/0'], runtime: { policy: { http: ['*.example.com'] } }, auth: { operators: [] } }
    const invite = encodeInvite({ bootstrap: ['/ip4/127.0.0.1/tcp/4010/p2p/12D3KooWabc'], expires: Date.now() + 3_600_000 })
    await fc.assert(fc.asyncProperty(mutatedJson([spec, reg, config]), fc.oneof(mutated([text(invite)]).map(b => new TextDecoder().decode(b)), fc.string()), hostileJson, async (value, inv, any) => {
      await graceful('parseServiceSpec', () => parseServiceSpec(value), ['InvalidServiceSpecError'])
      await graceful('parseRegistration', () => parseRegistration(value), ['InvalidRegistrationError'])
      await graceful('parseConfig', () => parseConfig(value, 'fuzz'), ['ConfigError'])
      await graceful('parseConfig (any)', () => parseConfig(any, 'fuzz'), ['ConfigError'])
      await graceful('decodeInvite', () => decodeInvite(inv), ['InvalidRequestError'])
    }), settings())
  })

  it('oversized input is refused before it is parsed', async () => {
    const huge = new Uint8Array(8 * 1024 * 1024).fill(0x5b)
    await graceful('decodeEntry (8 MiB)', () => decodeEntry(huge), ['InvalidCatalogEntryError'], 200)
    await graceful('decodeRoot (8 MiB)', () => decodeRoot(huge), ['BlockVerificationError'], 200)
    await graceful('decodeToken (8 MiB)', async () => decodeToken('A'.repeat(8 * 1024 * 1024)), ['InvalidTokenError'], 200)
    await graceful('decodeInvite (8 MiB)', () => decodeInvite('noodle-invite-v1:' + 'A'.repeat(8 * 1024 * 1024)), ['InvalidRequestError'], 200)
  })
})
