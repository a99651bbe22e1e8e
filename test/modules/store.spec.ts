import { join } from 'node:path'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { LevelBlockstore } from 'blockstore-level'
import { MemoryDatastore } from 'datastore-core/memory'
import { expect } from 'chai'
import { writeFile } from 'node:fs/promises'
import { CHUNK_BYTES } from '../../lib/modules/constants.js'
import { packModule } from '../../lib/modules/content.js'
import { parseManifest } from '../../lib/modules/manifest.js'
import { readModuleDir } from '../../lib/modules/module-dir.js'
import { ModuleStore } from '../../lib/modules/store.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { ECHO_WASM, bytes, moduleDir } from './fixtures.js'
import { rejection } from '../utils/rejection.js'

const manifest = (version: string): ReturnType<typeof parseManifest> => parseManifest({ name: 'echo', version, entry: 'echo.wasm', exports: ['echo'] })

describe('module store', () => {
  it('adds, reads back verified, refuses other content under the same version, and lists', async () => {
    const store = new ModuleStore(new MemoryBlockstore(), new MemoryDatastore())
    const v1 = await packModule(manifest('1.0.0'), bytes(3 * CHUNK_BYTES + 1))
    await store.add(v1)
    await store.add(v1) // the same content again is fine
    const back = await store.read(v1.root)
    expect(back.wasm).to.deep.equal(bytes(3 * CHUNK_BYTES + 1))
    const other = await packModule(manifest('1.0.0'), bytes(10, 9))
    const err = await rejection(store.add(other))
    expect(err.name).to.equal('ConflictError')
    expect(err.message).to.include(v1.root.toString())
    expect(await store.list()).to.deep.equal([{ name: 'echo', version: '1.0.0', cid: v1.root.toString(), size: 3 * CHUNK_BYTES + 1, pinned: true }])
    expect((await rejection(store.getBlock(other.root))).name).to.equal('ModuleNotFoundError')
  })

  it('keeps pinned modules through gc and removes the rest', async () => {
    const store = new ModuleStore(new MemoryBlockstore(), new MemoryDatastore())
    const keep = await packModule(manifest('1.0.0'), bytes(CHUNK_BYTES + 5))
    const drop = await packModule(manifest('2.0.0'), bytes(2000, 3))
    await store.add(keep)
    await store.add(drop)
    expect(await store.gc()).to.deep.equal({ removedBlocks: 0, freedBytes: 0 })
    await store.unpin(drop.root)
    expect((await rejection(store.unpin(drop.root))).name).to.equal('ModuleNotFoundError')
    const freed = await store.gc()
    expect(freed.removedBlocks).to.equal(2)
    expect(freed.freedBytes).to.equal(2000 + drop.blocks[0]!.bytes.byteLength)
    expect(await store.has(drop.root)).to.equal(false)
    expect((await store.read(keep.root)).wasm.byteLength).to.equal(CHUNK_BYTES + 5)
    expect((await store.list()).map(m => [m.version, m.pinned])).to.deep.equal([['1.0.0', true], ['2.0.0', false]])
  })

  it('notices a block that rotted in a level blockstore, and keeps modules across a reopen', async () => {
    const dir = await tmpDir()
    try {
      const path = join(dir.path, 'blocks')
      const datastore = new MemoryDatastore()
      const blocks = new LevelBlockstore(path)
      await blocks.open()
      const store = new ModuleStore(blocks, datastore)
      const packed = await packModule(manifest('1.0.0'), bytes(500))
      await store.add(packed)
      await blocks.close()
      const reopened = new LevelBlockstore(path)
      await reopened.open()
      const again = new ModuleStore(reopened, datastore)
      expect((await again.read(packed.root)).wasm).to.deep.equal(bytes(500))
      await reopened.put(packed.wasm.cid, bytes(500, 4)) // the disk now holds other bytes under that CID
      expect((await rejection(again.read(packed.root))).name).to.equal('BlockVerificationError')
      await reopened.close()
    } finally {
      await dir.cleanup()
    }
  })
})

describe('module directory (publishing input)', () => {
  it('reads a manifest and its wasm, and checks the wasm exports what the manifest says', async () => {
    const dir = await tmpDir()
    try {
      const good = await moduleDir(join(dir.path, 'good'), { name: 'echo', version: '1.0.0', entry: 'build/echo.wasm', exports: ['echo'] })
      const read = await readModuleDir(good)
      expect(read.manifest.name).to.equal('echo')
      expect(read.wasm).to.deep.equal(ECHO_WASM)

      const cases: Array<[string, Record<string, unknown>, Uint8Array | null, string, RegExp]> = [
        ['missing-export', { name: 'echo', version: '1.0.0', entry: 'echo.wasm', exports: ['echo', 'shout'] }, ECHO_WASM, 'exports[1]', /no function "shout".*exports: echo/],
        ['not-wasm', { name: 'echo', version: '1.0.0', entry: 'echo.wasm', exports: ['echo'] }, new TextEncoder().encode('hello'), 'entry', /not valid WebAssembly/],
        ['no-entry', { name: 'echo', version: '1.0.0', entry: 'echo.wasm', exports: ['echo'] }, null, 'entry', /does not exist/],
        ['bad-manifest', { name: 'echo', version: 'one', entry: 'echo.wasm', exports: ['echo'] }, ECHO_WASM, 'version', /semantic version/]
      ]
      for (const [name, m, wasm, field, message] of cases) {
        const err = await rejection(readModuleDir(await moduleDir(join(dir.path, name), m, wasm)))
        expect(err.name, name).to.equal('InvalidManifestError')
        expect((err as any).field, name).to.equal(field)
        expect(err.message, name).to.match(message)
      }
      const empty = join(dir.path, 'empty')
      await moduleDir(empty, {}, null)
      await writeFile(join(empty, 'noodle.json'), '{ not json')
      expect((await rejection(readModuleDir(empty))).message).to.include('not JSON')
      expect((await rejection(readModuleDir(join(dir.path, 'nowhere')))).message).to.include('no noodle.json')
    } finally {
      await dir.cleanup()
    }
  })
})
