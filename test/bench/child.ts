import { spawn, type ChildProcess } from 'node:child_process'

/** Start `node ARGS` and wait for its first line on stdout (a port or a multiaddr): a baseline server in its own process. */
export async function spawnPrinting (args: string[]): Promise<{ proc: ChildProcess, line: string }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.trim()) })
    proc.once('exit', (code) => { reject(new Error(`baseline server exited with ${code}`)) })
  })
  return { proc, line }
}
