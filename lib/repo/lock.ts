import { readFile, rm, writeFile, lstat } from 'node:fs/promises'
import { LevelDatastore } from 'datastore-level'
import { Level } from 'level'
import { RepoInUseError } from '../interface/errors.js'
import type { RepoPaths } from './paths.js'

/**
 * Repos held by this process. LevelDB's own lock is an fcntl lock: a second
 * open of the same directory *in the same process* fails but closes its file
 * descriptor, which silently drops the first holder's lock. So in-process
 * double opens are refused here before LevelDB is touched.
 */
const heldInProcess = new Set<string>()

export interface RepoLock {
  datastore: LevelDatastore
  /** stale files from a crashed daemon that were removed */
  cleaned: string[]
  release(): Promise<void>
}

async function readPid (file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(file, 'utf8')).trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

async function exists (file: string): Promise<boolean> {
  try {
    await lstat(file)
    return true
  } catch {
    return false
  }
}

function inUse (paths: RepoPaths, pid: number | undefined): RepoInUseError {
  const who = pid != null ? `noodled (pid ${pid})` : 'another noodled process'
  return new RepoInUseError(`repo ${paths.root} is in use by ${who}; stop it with \`noodled stop --repo ${paths.root}\` or use another --repo`)
}

/**
 * Take exclusive use of a repo. The level datastore's lock is the arbiter:
 * the OS drops it when a process dies, so once we hold it any pid file or
 * socket left behind is stale by definition and is removed.
 */
export async function lockRepo (paths: RepoPaths): Promise<RepoLock> {
  if (heldInProcess.has(paths.root)) {
    throw inUse(paths, process.pid)
  }
  heldInProcess.add(paths.root)
  // opened here rather than by LevelDatastore, which flattens the cause
  // (LEVEL_LOCKED) into a string
  const db = new Level<string, Uint8Array>(paths.datastore, { keyEncoding: 'utf8', valueEncoding: 'view' })
  try {
    await db.open({ createIfMissing: true })
  } catch (err: any) {
    heldInProcess.delete(paths.root)
    if (err.cause?.code === 'LEVEL_LOCKED') {
      throw inUse(paths, await readPid(paths.pidFile))
    }
    throw err
  }
  const datastore = new LevelDatastore(db)
  await datastore.open()

  const cleaned: string[] = []
  for (const file of [paths.apiSocket, paths.pidFile]) {
    if (await exists(file)) {
      await rm(file, { force: true })
      cleaned.push(file)
    }
  }
  await writeFile(paths.pidFile, `${process.pid}\n`, { mode: 0o644 })

  let released = false
  return {
    datastore,
    cleaned,
    async release () {
      if (released) return
      released = true
      try {
        await rm(paths.pidFile, { force: true })
        await datastore.close()
      } finally {
        heldInProcess.delete(paths.root)
      }
    }
  }
}
