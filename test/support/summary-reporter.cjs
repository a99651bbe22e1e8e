'use strict'
// Mocha's spec reporter followed by one plain line `N passed, N failed, N skipped`,
// the summary CI reads (see .ci/run).
const Mocha = require('mocha')
const { Spec } = Mocha.reporters
const { EVENT_RUN_END } = Mocha.Runner.constants

class SummaryReporter extends Spec {
  constructor (runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? {}
      // Spec registered its epilogue on EVENT_RUN_END first, so this line comes last;
      // written synchronously because .mocharc.json has "exit": true
      process.stdout.write(`\n${s.passes ?? 0} passed, ${s.failures ?? 0} failed, ${s.pending ?? 0} skipped\n`)
    })
  }
}

module.exports = SummaryReporter
