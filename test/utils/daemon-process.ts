// Tests drive real daemons with the same helper the simulation harness uses.
export * from '../../simulations/harness/daemon-process.js'
