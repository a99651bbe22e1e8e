import { open, readFile, stat } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { KeyFileError } from '../interface/errors.js'
import { KEY_FILE_MODE } from './constants.js'

/** Create a new Ed25519 identity at `file` (mode 0600). Refuses to overwrite. */
export async function createKey (file: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  // 'wx' fails if the file exists; the mode applies at creation so the key is never world-readable
  const fh = await open(file, 'wx', KEY_FILE_MODE)
  try {
    await fh.writeFile(privateKeyToProtobuf(key))
    await fh.sync()
  } finally {
    await fh.close()
  }
  return key
}

/** Load the identity. Refuses a key file that others can read, like ssh does. */
export async function loadKey (file: string): Promise<PrivateKey> {
  let mode: number
  try {
    mode = (await stat(file)).mode & 0o777
  } catch (err: any) {
    throw new KeyFileError(`cannot read key file ${file}: ${err.code ?? err.message}`)
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(`key file ${file} has mode ${mode.toString(8)}; it must not be readable by others (chmod 600 ${file})`)
  }
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err: any) {
    throw new KeyFileError(`key file ${file} is not a valid libp2p private key: ${err.message}`)
  }
}

/** As loadKey, but a missing file is no key rather than an error (the operator key is optional). */
export async function loadOptionalKey (file: string): Promise<PrivateKey | undefined> {
  try {
    await stat(file)
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
  }
  return loadKey(file)
}
