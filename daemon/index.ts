export { Daemon, type DaemonInit } from './daemon.js'
export { handleSignals, STOP_GRACE_MS } from './signals.js'
export type { DaemonFlags } from './options.js'
export { createLogger, type Logger } from './logger.js'
