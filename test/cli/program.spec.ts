import { expect } from 'chai'
import { buildProgram, commandOf, COMMANDS } from '../../cli/program.js'

const streams = { out: () => {}, err: () => {}, env: {} }
const names = (argv?: string[]): string[] => buildProgram(streams, argv).commands.map(c => c.name()).filter(n => n !== 'help').sort()

describe('the CLI\'s command tree', () => {
  it('knows which top-level commands each definer makes, so a command can be defined alone', () => {
    const all = names()
    expect(COMMANDS.flatMap(([n]) => n).sort()).to.deep.equal(all)
    for (const [defined] of COMMANDS) {
      expect(names(['node', 'noodled', defined[0]!, '--json']), defined[0]).to.deep.equal([...defined].sort())
    }
  })

  it('finds the command past the global options, and builds the whole tree for help, an unknown command or none', () => {
    expect(commandOf(['node', 'noodled', '--repo', '/r', 'kg', 'query', 'x'])).to.equal('kg')
    expect(commandOf(['node', 'noodled', '--repo=/r', '--api-url', 'http://h:1', 'status'])).to.equal('status')
    expect(commandOf(['node', 'noodled', '--help'])).to.equal(undefined)
    expect(commandOf(['node', 'noodled'])).to.equal(undefined)
    const all = names()
    expect(names(['node', 'noodled', 'no-such-command'])).to.deep.equal(all)
    expect(names(['node', 'noodled', 'help', 'kg'])).to.deep.equal(all)
    expect(names(['node', 'noodled', '-V'])).to.deep.equal(all)
  })
})
