import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { serviceKey } from '../../lib/placement/keys.js'
import { decodeServiceRecord, encodeServiceRecord, InvalidCatalogEntryError, type CatalogEntry } from '../../lib/registry/index.js'
import { selectServiceRecord } from '../../lib/registry/dht-record.js'

async function rejects (p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p
  } catch (err: any) {
    expect(err).to.be.instanceOf(InvalidCatalogEntryError)
    expect(err.message).to.match(pattern)
    return
  }
  expect.fail('expected a rejection')
}

describe('service records on the DHT', () => {
  it('round-trips a signed entry, and refuses tampered, misfiled, forged and malformed records', async () => {
    const key = await generateKeyPair('Ed25519')
    const author = peerIdFromPrivateKey(key).toString()
    const entry: CatalogEntry = { name: 'web', version: 3, author, updatedAt: 1, deleted: false, spec: { name: 'web', replicas: 2, requirements: { cpu: 0, memoryMb: 0, slots: 0, labels: {} } } }
    const record = await encodeServiceRecord(entry, key)
    expect(await decodeServiceRecord(serviceKey('web'), record)).to.deep.equal(entry)

    const tampered = JSON.parse(new TextDecoder().decode(record))
    tampered.entry = tampered.entry.replace('"replicas":2', '"replicas":9')
    await rejects(decodeServiceRecord(serviceKey('web'), new TextEncoder().encode(JSON.stringify(tampered))), /not signed by its author/)
    await rejects(decodeServiceRecord(serviceKey('api'), record), /another key/)
    // signed by someone else in the author's name
    const other = await generateKeyPair('Ed25519')
    await rejects(decodeServiceRecord(serviceKey('web'), await encodeServiceRecord(entry, other)), /not signed by its author/)
    await rejects(decodeServiceRecord(serviceKey('web'), new TextEncoder().encode('{"entry":1}')), /malformed/)
    await rejects(decodeServiceRecord(serviceKey('web'), new Uint8Array(100_000)), /bytes/)
  })

  it('the selector picks the newest valid record', async () => {
    const key = await generateKeyPair('Ed25519')
    const author = peerIdFromPrivateKey(key).toString()
    const at = (version: number, deleted = false): CatalogEntry => ({ name: 'db', version, author, updatedAt: version, deleted, ...(deleted ? {} : { spec: { name: 'db', replicas: 1, requirements: { cpu: 0, memoryMb: 0, slots: 0, labels: {} } } }) })
    const records = [await encodeServiceRecord(at(1), key), await encodeServiceRecord(at(4, true), key), new TextEncoder().encode('junk'), await encodeServiceRecord(at(2), key)]
    expect(await selectServiceRecord(serviceKey('db'), records)).to.equal(1)
  })
})
