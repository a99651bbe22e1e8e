/**
 * Node's one known warning we cannot act on: the module runtime's Extism
 * imports `node:wasi` (for modules that ask for WASI, which the sandbox
 * refuses), and Node warns that WASI is experimental. On a daemon's stderr,
 * which is its JSON log, that line is noise an operator's log shipper
 * trips over. Every other warning is printed as Node would. (Module
 * workers get `--disable-warning=ExperimentalWarning`: lib/runtime/pool.ts.)
 * Imported first by the CLI entry, before anything loads Extism.
 */
const [printWarning] = process.listeners('warning')
if (printWarning != null) {
  process.removeListener('warning', printWarning)
  process.on('warning', (warning: Error) => {
    if (warning.name === 'ExperimentalWarning' && warning.message.startsWith('WASI')) return
    printWarning(warning)
  })
}
