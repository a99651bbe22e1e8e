import type { PublicKey } from '@libp2p/interface'

/**
 * Check a signature from the wire: false for a wrong one and for one that is
 * not even the right length (libp2p's Ed25519 verify throws a TypeError for
 * that, found by fuzzing), so callers refuse both with their own named error.
 */
export async function signatureValid (key: PublicKey, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await key.verify(data, signature)
  } catch {
    return false
  }
}
