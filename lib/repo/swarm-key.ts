import { open, readFile, stat } from 'node:fs/promises'
import { generateKey, preSharedKey } from '@libp2p/pnet'
import { KeyFileError } from '../interface/errors.js'
import { KEY_FILE_MODE } from './constants.js'

/** A swarm key file: `/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits (the format go-ipfs and js-libp2p share). */
const SWARM_KEY_BYTES = 95

/**
 * Create a private mesh's swarm key at `file` (mode 0600; refuses to
 * overwrite). Every member of the mesh needs the same file; a daemon
 * without it cannot connect to them, nor they to it.
 */
export async function createSwarmKey (file: string): Promise<Uint8Array> {
  const key = new Uint8Array(SWARM_KEY_BYTES)
  generateKey(key)
  await writeSwarmKey(file, key)
  return key
}

/** Write a swarm key received from elsewhere (an invite), checked first. */
export async function writeSwarmKey (file: string, key: Uint8Array): Promise<void> {
  checkSwarmKey(key, 'the swarm key')
  const fh = await open(file, 'wx', KEY_FILE_MODE)
  try {
    await fh.writeFile(key)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** The swarm key at `file`, or undefined when the repo has none (a public mesh). Refuses one others can read, or a malformed one. */
export async function loadSwarmKey (file: string): Promise<Uint8Array | undefined> {
  let mode: number
  try {
    mode = (await stat(file)).mode & 0o777
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw new KeyFileError(`cannot read swarm key ${file}: ${err.code ?? err.message}`)
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(`swarm key ${file} has mode ${mode.toString(8)}; it must not be readable by others (chmod 600 ${file})`)
  }
  const key = new Uint8Array(await readFile(file))
  checkSwarmKey(key, `swarm key ${file}`)
  return key
}

/** Throw a KeyFileError unless `key` is a swarm key. */
export function checkSwarmKey (key: Uint8Array, what: string): void {
  try {
    // the protector decodes (and so checks) the key when it is made
    preSharedKey({ psk: key })()
  } catch (err: any) {
    throw new KeyFileError(`${what} is not a libp2p swarm key (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits): ${err.message}`)
  }
}
