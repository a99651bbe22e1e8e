// Loaded by mocha before any spec (.mocharc.json "require").
import '../../cli/warnings.js'
import '../../lib/polyfill.js'
import * as chai from 'chai'
import chaiAsPromised from 'chai-as-promised'

chai.use(chaiAsPromised)
