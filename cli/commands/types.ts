import type { CommandContext } from '../context.js'

/** Wraps a handler into a commander action that builds the context from the options. */
export type CommandRunner = (handler: (ctx: CommandContext, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>
