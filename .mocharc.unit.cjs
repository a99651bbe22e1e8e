// The unit layer: specs that start no libp2p node, daemon or process. They
// build one class with stubbed components and in-memory streams, and run in
// seconds: `npm run test:unit`. Which specs those are is read from their
// sources (what they import), so a new spec lands on the right side by itself.
const { readdirSync, readFileSync, statSync } = require('node:fs')
const { join } = require('node:path')

const NOT_UNIT = /test-mesh|daemon-process|createNode|child_process|daemon\/daemon\.js|from '\.\.\/\.\.\/daemon/

function specs (dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) specs(path, out)
    else if (name.endsWith('.spec.ts')) out.push(path)
  }
  return out
}

const unit = specs('test')
  .filter(path => !NOT_UNIT.test(readFileSync(path, 'utf8')))
  .map(path => join('dist', path.replace(/\.ts$/, '.js')))
  .sort()

module.exports = {
  require: ['dist/test/support/setup.js'],
  spec: unit,
  reporter: './test/support/summary-reporter.cjs',
  timeout: 60000,
  exit: true
}
