import { readFile } from 'node:fs/promises'

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (Linux). */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // fields after the parenthesised command name; utime and stime are fields 14 and 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks / 100 // USER_HZ is 100 on Linux
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux). */
export async function rssBytes (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)
  return kb == null ? NaN : Number(kb[1]) * 1024
}
