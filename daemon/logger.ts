import { pino, type Logger } from 'pino'
import type { LogLevel } from '../lib/repo/config.js'

export type { Logger }

/**
 * Structured JSON logs for operators, on stderr: stdout carries the start-up
 * banner (peer id, addresses) that scripts and people read.
 */
export function createLogger (level: LogLevel, destination: number = 2): Logger {
  return pino({ name: 'noodled', level }, pino.destination({ fd: destination, sync: true }))
}
