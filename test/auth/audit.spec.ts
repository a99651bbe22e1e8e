import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { AuditLog } from '../../lib/audit/log.js'

const key = (seq: number): Key => new Key(`/noodle/audit/log/${seq.toString().padStart(12, '0')}`)

async function filled (n: number): Promise<{ log: AuditLog, ds: MemoryDatastore }> {
  const ds = new MemoryDatastore()
  const log = new AuditLog({ datastore: ds })
  await log.start()
  for (let i = 0; i < n; i++) await log.append(i % 2 === 0 ? 'deploy' : 'denied', { service: `s${i}`, reason: i % 2 === 0 ? undefined : 'no token' })
  return { log, ds }
}

describe('audit trail', () => {
  it('chains entries and verifies, also after a restart', async () => {
    const { log, ds } = await filled(5)
    expect(await log.verify()).to.deep.equal({ ok: true, entries: 5 })
    const again = new AuditLog({ datastore: ds })
    await again.start()
    await again.append('revoke', { id: 'x' })
    const list = await again.list()
    expect(list.map(e => e.seq)).to.deep.equal([1, 2, 3, 4, 5, 6])
    expect(list[5]!.prev).to.equal(list[4]!.hash)
    expect((await again.list({ limit: 2 })).map(e => e.seq)).to.deep.equal([5, 6])
    expect((await again.verify()).ok).to.equal(true)
  })

  it('finds an edited entry', async () => {
    const { log, ds } = await filled(5)
    const e = JSON.parse(new TextDecoder().decode(await ds.get(key(3))))
    e.detail.service = 'something-else'
    await ds.put(key(3), new TextEncoder().encode(JSON.stringify(e)))
    expect(await log.verify()).to.deep.include({ ok: false, broken: { seq: 3, reason: 'edited (its hash does not match its content)' } })
  })

  it('finds an edit that recomputed the entry\'s own hash (the next one no longer follows)', async () => {
    const { log, ds } = await filled(5)
    const { createHash } = await import('node:crypto')
    const { canonicalJson } = await import('../../lib/canonical-json.js')
    const e = JSON.parse(new TextDecoder().decode(await ds.get(key(2))))
    e.type = 'deploy'
    e.hash = createHash('sha256').update(canonicalJson({ seq: e.seq, at: e.at, type: e.type, detail: e.detail, prev: e.prev })).digest('hex')
    await ds.put(key(2), new TextEncoder().encode(JSON.stringify(e)))
    expect((await log.verify()).broken?.seq).to.equal(3)
  })

  it('finds a removed entry, in the middle or at the end', async () => {
    const { log, ds } = await filled(5)
    await ds.delete(key(2))
    expect((await log.verify()).broken).to.deep.equal({ seq: 2, reason: 'entry 2 is missing (next is 3)' })
    const tail = await filled(5)
    await tail.ds.delete(key(5))
    expect((await tail.log.verify()).broken?.reason).to.match(/removed from the end/)
  })
})
