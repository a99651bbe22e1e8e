import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { IdResponse } from '../../lib/interface/api.js'

/** The CLI as shipped: the bundle `npm run build` makes (dist/simulations/harness -> dist/bin/main.js; scripts/bundle-cli.mjs). */
export const CLI = fileURLToPath(new URL('../../bin/main.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Run `noodled ...args` to completion. */
/** Run the CLI (`cli`: another entry point than this checkout's, such as an installed copy's). */
export async function runCli (args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number, cli?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [opts.cli ?? CLI, ...args], {
      env: { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 30_000
    }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as any).code === 'number' ? (err as any).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A real `noodled start` process. */
export class DaemonProcess {
  readonly repo: string
  readonly proc: ChildProcess
  readonly exited: Promise<Exit>
  stdout = ''
  stderr = ''
  /** epoch ms at which the daemon printed that it was ready */
  readyAt?: number
  /** the CLI entry point it was started with, which its cli() runs too */
  readonly cliPath: string

  private constructor (repo: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = [], wrapper: string[] = [], logFile?: string, cli: string = CLI) {
    this.repo = repo
    this.cliPath = cli
    // a wrapper that execs its command (`ip netns exec NS`) keeps the daemon's pid, so signals and /proc work on it
    const argv = [process.execPath, ...nodeArgs, cli, 'start', '--repo', repo, ...args]
    const [cmd, ...rest] = [...wrapper, ...argv] as [string, ...string[]]
    this.proc = spawn(cmd, rest, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.proc.stdout?.setEncoding('utf8').on('data', (s: string) => { this.stdout += s })
    this.proc.stderr?.setEncoding('utf8').on('data', (s: string) => { this.stderr += s })
    if (logFile != null) {
      // the whole log, appended across restarts of the same node (the JSON lines carry their times)
      const file = createWriteStream(logFile, { flags: 'a' })
      file.on('error', () => { /* a log that cannot be written loses the log, not the run */ })
      this.proc.stderr?.pipe(file)
    }
    this.exited = new Promise(resolve => {
      this.proc.once('exit', (code, signal) => { resolve({ code, signal }) })
    })
  }

  /**
   * Spawn `noodled start` on loopback with the `local` profile and an
   * ephemeral port, and wait until it prints that it is ready.
   */
  static async start (repo: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number, defaults?: boolean, nodeArgs?: string[], wrapper?: string[], logFile?: string, cli?: string } = {}): Promise<DaemonProcess> {
    const defaults = opts.defaults === false ? [] : ['--profile', 'local', '--listen', '/ip4/127.0.0.1/tcp/0']
    const d = new DaemonProcess(repo, [...defaults, ...args], opts.env ?? {}, opts.nodeArgs, opts.wrapper, opts.logFile, opts.cli)
    await d.ready(opts.timeoutMs ?? 30_000)
    return d
  }

  /** Spawn without waiting; for starts that are expected to fail. */
  static spawn (repo: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): DaemonProcess {
    return new DaemonProcess(repo, args, env)
  }

  async ready (timeoutMs: number): Promise<void> {
    if (this.stdout.includes('daemon is ready')) { this.readyAt ??= Date.now(); return }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`daemon on ${this.repo} not ready after ${timeoutMs} ms\n${this.stderr}`)) }, timeoutMs)
      const onData = (): void => {
        if (this.stdout.includes('daemon is ready')) { this.readyAt = Date.now(); cleanup(); resolve() }
      }
      const onExit = (code: number | null): void => { cleanup(); reject(new Error(`daemon on ${this.repo} exited with ${code} before it was ready\n${this.stderr}`)) }
      const cleanup = (): void => {
        clearTimeout(timer)
        this.proc.stdout?.off('data', onData)
        this.proc.off('exit', onExit)
      }
      this.proc.stdout?.on('data', onData)
      this.proc.once('exit', onExit)
    })
  }

  get running (): boolean {
    return this.proc.exitCode == null && this.proc.signalCode == null
  }

  async cli (...args: string[]): Promise<CliResult> {
    return runCli(['--repo', this.repo, ...args], { cli: this.cliPath })
  }

  async id (): Promise<IdResponse> {
    const res = await this.cli('id', '--json')
    if (res.code !== 0) throw new Error(`noodled id failed: ${res.stderr}`)
    return JSON.parse(res.stdout) as IdResponse
  }

  /** Send `signal` and wait for the process to exit (bounded). */
  async kill (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    if (this.running) this.proc.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`daemon on ${this.repo} did not exit ${timeoutMs} ms after ${signal}`)) }, timeoutMs)
    })
    try {
      return await Promise.race([this.exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** after-hook helper: make sure no daemon outlives its test */
export async function killAll (daemons: DaemonProcess[]): Promise<void> {
  await Promise.all(daemons.map(async d => {
    if (!d.running) return
    d.proc.kill('SIGKILL')
    await d.exited
  }))
}
