import { expect } from 'chai'
import { resolveModules, type ModuleVersion, type VersionSource } from '../../lib/modules/resolver.js'

/** A catalog from `name@version: dep@range, ...` lines; the CID is made up from the id. */
function catalog (...lines: string[]): VersionSource {
  const all: ModuleVersion[] = lines.map((line) => {
    const [id, deps = ''] = line.split(':')
    const [name, version] = id!.trim().split('@') as [string, string]
    const dependencies: Record<string, string> = {}
    for (const d of deps.split(',').map(s => s.trim()).filter(Boolean)) {
      const at = d.indexOf('@')
      dependencies[d.slice(0, at)] = d.slice(at + 1)
    }
    return { name, version, cid: `cid-of-${name}-${version}`, dependencies }
  })
  return { versions: (name) => all.filter(v => v.name === name) }
}

function error (fn: () => unknown): Error {
  try {
    fn()
  } catch (err: any) {
    return err
  }
  throw new Error('expected an error')
}

describe('module dependency resolver', () => {
  const source = catalog(
    'app@1.0.0: lib@^1.0.0',
    'app@1.1.0: lib@^1.2.0, log@~2.1.0',
    'lib@1.0.0', 'lib@1.2.0', 'lib@1.3.5', 'lib@2.0.0', 'lib@1.4.0-rc.1',
    'log@2.1.0', 'log@2.1.9', 'log@2.2.0'
  )

  it('picks the highest version in caret, tilde and exact ranges, dependencies first', () => {
    const r = resolveModules('app@^1.0.0', source)
    expect(r.root).to.equal('app@1.1.0')
    expect(r.order).to.deep.equal(['lib@1.3.5', 'log@2.1.9', 'app@1.1.0'])
    expect(r.lock).to.deep.equal({ 'app@1.1.0': 'cid-of-app-1.1.0', 'lib@1.3.5': 'cid-of-lib-1.3.5', 'log@2.1.9': 'cid-of-log-2.1.9' })
    expect(r.graph['app@1.1.0']).to.deep.equal(['lib@1.3.5', 'log@2.1.9'])
    expect(resolveModules('app@1.0.0', source).order).to.deep.equal(['lib@1.3.5', 'app@1.0.0'])
    expect(resolveModules('lib@~1.2', source).root).to.equal('lib@1.2.0')
    expect(resolveModules('lib', source).root).to.equal('lib@2.0.0')
  })

  it('takes prereleases only when asked', () => {
    expect(resolveModules('lib@^1.3.0', source).root).to.equal('lib@1.3.5')
    expect(resolveModules('lib@^1.3.0', source, { includePrerelease: true }).root).to.equal('lib@1.4.0-rc.1')
  })

  it('gives a diamond one version that satisfies both sides', () => {
    const r = resolveModules('top@1', catalog(
      'top@1.0.0: left@1, right@1',
      'left@1.0.0: base@>=1.1.0',
      'right@1.0.0: base@<1.3.0',
      'base@1.0.0', 'base@1.2.0', 'base@1.3.0'
    ))
    expect(r.order).to.deep.equal(['base@1.2.0', 'left@1.0.0', 'right@1.0.0', 'top@1.0.0'])
  })

  it('drops what an earlier pick needed once a higher pick no longer does', () => {
    const r = resolveModules('a@*', catalog('a@1.0.0: b@1', 'a@2.0.0', 'b@1.0.0'))
    expect(r.order).to.deep.equal(['a@2.0.0'])
  })

  it('prints the path of a cycle', () => {
    const err = error(() => resolveModules('a@1', catalog('a@1.0.0: b@1', 'b@1.0.0: c@1', 'c@1.0.0: a@1')))
    expect(err.name).to.equal('DependencyError')
    expect(err.message).to.equal('dependency cycle: a@1.0.0 > b@1.0.0 > c@1.0.0 > a@1.0.0')
  })

  it('prints both paths of a conflict, and the path to a range nothing satisfies', () => {
    const conflict = error(() => resolveModules('top@1', catalog('top@1.0.0: left@1, right@1', 'left@1.0.0: base@^1', 'right@1.0.0: base@^2', 'base@1.5.0', 'base@2.0.0')))
    expect(conflict.name).to.equal('DependencyError')
    expect(conflict.message).to.include('"^1" (top@1.0.0 > left@1.0.0)')
    expect(conflict.message).to.include('"^2" (top@1.0.0 > right@1.0.0)')

    const missing = error(() => resolveModules('app@1.0.0', catalog('app@1.0.0: lib@^3', 'lib@1.0.0')))
    expect(missing.name).to.equal('ModuleNotFoundError')
    expect(missing.message).to.include('no version of "lib" satisfies "^3" (needed by app@1.0.0')
  })

  it('says which name is unknown, and refuses a malformed reference', () => {
    expect(error(() => resolveModules('nope@1', source)).message).to.equal('no module named "nope"')
    const deep = error(() => resolveModules('x@1', catalog('x@1.0.0: ghost@1')))
    expect(deep.name).to.equal('ModuleNotFoundError')
    expect(deep.message).to.include('needed by')
    expect(error(() => resolveModules('Bad Name@1', source)).name).to.equal('DependencyError')
    expect(error(() => resolveModules('lib@not a range', source)).message).to.include('not a semver range')
  })

  it('resolves the same lockfile from a catalog of 1,000 modules, whatever order it lists them in', () => {
    const lines: string[] = []
    for (let i = 0; i < 1000; i++) {
      const deps = i === 0 ? '' : `m${Math.floor(i / 2)}@^1, m${Math.floor(i / 3)}@>=1.0.0`
      lines.push(`m${i}@1.0.0: ${deps}`, `m${i}@1.1.0: ${deps}`)
    }
    const forward = resolveModules('m999@^1', catalog(...lines))
    const backward = resolveModules('m999@^1', catalog(...[...lines].reverse()))
    expect(JSON.stringify(backward)).to.equal(JSON.stringify(forward))
    expect(forward.order.at(-1)).to.equal('m999@1.1.0')
    expect(forward.order[0]).to.equal('m0@1.1.0')
  })

  it('resolves a chain of dependencies 500 deep (each round discovers the whole chain, not one level)', () => {
    const lines: string[] = []
    for (let i = 0; i < 500; i++) lines.push(`c${i}@1.0.0: ${i < 499 ? `c${i + 1}@^1` : ''}`, `c${i}@1.4.0: ${i < 499 ? `c${i + 1}@^1` : ''}`)
    const r = resolveModules('c0@^1', catalog(...lines))
    expect(r.order).to.have.length(500)
    expect(r.order[0]).to.equal('c499@1.4.0')
    expect(r.root).to.equal('c0@1.4.0')
  })
})
