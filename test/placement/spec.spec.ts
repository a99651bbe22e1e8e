import { expect } from 'chai'
import { InvalidServiceSpecError, parseServiceSpec } from '../../lib/placement/index.js'

function fieldOf (value: unknown): string {
  try {
    parseServiceSpec(value)
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidServiceSpecError)
    return (err as InvalidServiceSpecError).field
  }
  throw new Error('expected the spec to be refused')
}

describe('service specs', () => {
  it('accepts the minimal spec and fills in the defaults', () => {
    expect(parseServiceSpec({ name: 'web', replicas: 2 })).to.deep.equal({
      name: 'web',
      replicas: 2,
      requirements: { cpu: 0, memoryMb: 0, slots: 0, labels: {} }
    })
    expect(parseServiceSpec({ name: 'web' }).replicas).to.equal(1)
  })

  it('keeps requirements, spread and module', () => {
    const s = parseServiceSpec({ name: 'api-2', replicas: 3, requirements: { cpu: 0.5, memoryMb: 256, slots: 1, labels: { zone: 'eu-1' } }, spread: 'zone', module: 'echo@^1.0.0' })
    expect(s.requirements).to.deep.equal({ cpu: 0.5, memoryMb: 256, slots: 1, labels: { zone: 'eu-1' } })
    expect(s.spread).to.equal('zone')
    expect(s.module).to.equal('echo@^1.0.0')
  })

  it('names the field at fault', () => {
    expect(fieldOf({ replicas: 2 })).to.equal('name')
    expect(fieldOf({ name: 'Web_1' })).to.equal('name')
    expect(fieldOf({ name: 'web', replicas: -1 })).to.equal('replicas')
    expect(fieldOf({ name: 'web', replicas: 1.5 })).to.equal('replicas')
    expect(fieldOf({ name: 'web', replica: 2 })).to.equal('replica')
    expect(fieldOf({ name: 'web', requirements: { memoryMb: '1G' } })).to.equal('requirements.memoryMb')
    expect(fieldOf({ name: 'web', requirements: { gpu: 1 } })).to.equal('requirements.gpu')
    expect(fieldOf({ name: 'web', requirements: { labels: { 'bad key!': 'x' } } })).to.equal('requirements.labels.bad key!')
    expect(fieldOf({ name: 'web', module: 'echo' })).to.equal('module')
    expect(fieldOf('web')).to.equal('')
  })

  it('says what is wrong in the message', () => {
    expect(() => parseServiceSpec({ name: 'web', replica: 2 })).to.throw(/unknown key "replica"/)
    expect(() => parseServiceSpec({ name: 'web', replicas: 5000 })).to.throw(/"replicas"/)
  })
})
