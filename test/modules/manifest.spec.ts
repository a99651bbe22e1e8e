import { expect } from 'chai'
import { parseManifest } from '../../lib/modules/manifest.js'

const minimal = { name: 'echo', version: '1.0.0', entry: 'build/echo.wasm', exports: ['echo'] }

function fieldOf (value: unknown): { field: string, message: string } {
  try {
    parseManifest(value)
  } catch (err: any) {
    expect(err.name).to.equal('InvalidManifestError')
    return { field: err.field, message: err.message }
  }
  throw new Error('expected the manifest to be refused')
}

describe('module manifest (noodle.json)', () => {
  it('fills in defaults: no dependencies, no capabilities, 16 MiB and 1 s', () => {
    const m = parseManifest(minimal)
    expect(m.dependencies).to.deep.equal({})
    expect(m.capabilities).to.deep.equal({ log: false, kv: false, call: [], http: [], paths: [] })
    expect(m.resources).to.deep.equal({ memoryPages: 256, timeoutMs: 1000 })
  })

  it('takes a full manifest', () => {
    const m = parseManifest({
      ...minimal,
      description: 'says it back',
      dependencies: { 'text-utils': '^1.2.0', base: '>=1 <3' },
      capabilities: { log: true, kv: true, call: ['users'], http: ['api.example.com', '*.example.org:8443'], paths: ['/var/data'] },
      resources: { memoryPages: 16, timeoutMs: 250 },
      license: 'MIT'
    })
    expect(m.capabilities.http).to.deep.equal(['api.example.com', '*.example.org:8443'])
    expect(m.dependencies).to.deep.equal({ 'text-utils': '^1.2.0', base: '>=1 <3' })
  })

  it('names the field at fault', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...minimal, name: 'Echo' }, 'name', /lower-case/],
      [{ ...minimal, version: 'v1.0.0' }, 'version', /semantic version/],
      [{ ...minimal, version: '1.0' }, 'version', /semantic version/],
      [{ ...minimal, entry: '../outside.wasm' }, 'entry', /relative path/],
      [{ ...minimal, entry: '/abs/echo.wasm' }, 'entry', /relative path/],
      [{ ...minimal, entry: 'echo.js' }, 'entry', /\.wasm/],
      [{ ...minimal, exports: [] }, 'exports', /./],
      [{ ...minimal, exports: ['echo', 'echo'] }, 'exports', /twice/],
      [{ ...minimal, exports: ['9lives'] }, 'exports[0]', /function name/],
      [{ ...minimal, dependencies: { base: 'not a range' } }, 'dependencies.base', /semver range/],
      [{ ...minimal, dependencies: { Base: '^1' } }, 'dependencies.Base', /lower-case/],
      [{ ...minimal, capabilities: { network: true } }, 'capabilities.network', /unknown key/],
      [{ ...minimal, capabilities: { http: ['http://api.example.com/'] } }, 'capabilities.http[0]', /host name/],
      [{ ...minimal, capabilities: { paths: ['relative/dir'] } }, 'capabilities.paths[0]', /absolute/],
      [{ ...minimal, resources: { memoryPages: 0 } }, 'resources.memoryPages', /./],
      [{ ...minimal, resources: { timeoutMs: 1.5 } }, 'resources.timeoutMs', /./],
      [{ ...minimal, main: 'x' }, 'main', /unknown key/],
      [{ version: '1.0.0', entry: 'a.wasm', exports: ['f'] }, 'name', /./],
      ['a string', '', /./]
    ]
    for (const [value, field, message] of cases) {
      const got = fieldOf(value)
      expect(got.field, JSON.stringify(value)).to.equal(field)
      expect(got.message, JSON.stringify(value)).to.match(message)
    }
  })
})
