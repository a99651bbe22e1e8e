import { CID } from 'multiformats/cid'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'
import { BlockVerificationError } from '../interface/errors.js'
import { CHUNK_BYTES } from './constants.js'

/**
 * `/noodle/blocks/1.0.0`: ask a peer for blocks by CID.
 *
 * The asker sends requests, each one frame (unsigned varint length, then a
 * binary CID, then optionally a WITH_LINK byte), and may have up to
 * MAX_PIPELINE unanswered on a stream. The server answers each in order with
 * one frame: a status byte, then for BLOCK the block's bytes; a WITH_LINK
 * request for a module root that links to one chunk gets a second frame,
 * the chunk's answer. Bytes are only trusted once they hash to the CID they
 * answer; the asker, not the server, checks.
 */
export const BLOCK_PROTOCOL_SUFFIX = '/blocks/1.0.0'

/** A CIDv1 sha2-256 is 36 bytes; room for other multihashes, which are then refused politely. */
export const MAX_REQUEST_BYTES = 256
/** Every block the module store holds is at most a chunk (a root is smaller). */
export const MAX_RESPONSE_BYTES = CHUNK_BYTES + 1
/** Unanswered requests a server accepts on one stream; more is a protocol violation. */
export const MAX_PIPELINE = 16

export enum BlockStatus {
  /** the block's bytes follow */
  BLOCK = 0,
  /** this peer does not hold the block */
  NOT_HERE = 1
}

export type BlockResponse = { status: BlockStatus.BLOCK, bytes: Uint8Array } | { status: BlockStatus.NOT_HERE }

function frame (...parts: Uint8Array[]): Uint8ArrayList {
  const length = parts.reduce((n, p) => n + p.byteLength, 0)
  return new Uint8ArrayList(varint.encode(length), ...parts)
}

export interface BlockRequest {
  cid: CID
  /**
   * Asking for a module's root: when the root links to a single chunk (a
   * module up to 1 MiB, most of them), send that chunk's answer right after
   * the root's, unasked. Saves the round trip a small module would
   * otherwise spend between learning its chunk and asking for it.
   */
  withLink: boolean
}

const WITH_LINK = 0x01

export function encodeRequest (cid: CID, withLink = false): Uint8ArrayList {
  return withLink ? frame(cid.bytes, Uint8Array.of(WITH_LINK)) : frame(cid.bytes)
}

/** Throws BlockVerificationError for bytes that are not one CID, optionally followed by the WITH_LINK flag. */
export function decodeRequest (bytes: Uint8Array): BlockRequest {
  let cid: CID
  let rest: Uint8Array
  try {
    [cid, rest] = CID.decodeFirst(bytes)
  } catch (err: any) {
    throw new BlockVerificationError(`a block request that is not a CID: ${err.message}`)
  }
  if (rest.byteLength === 0) return { cid, withLink: false }
  if (rest.byteLength === 1 && rest[0] === WITH_LINK) return { cid, withLink: true }
  throw new BlockVerificationError(`a block request with ${rest.byteLength} unknown trailing bytes`)
}

export function encodeResponse (response: BlockResponse): Uint8ArrayList {
  return response.status === BlockStatus.BLOCK
    ? frame(Uint8Array.of(BlockStatus.BLOCK), response.bytes)
    : frame(Uint8Array.of(BlockStatus.NOT_HERE))
}

/** Throws BlockVerificationError for an empty frame or an unknown status. */
export function decodeResponse (bytes: Uint8Array): BlockResponse {
  const status = bytes[0]
  if (status === BlockStatus.BLOCK) return { status, bytes: bytes.subarray(1) }
  if (status === BlockStatus.NOT_HERE && bytes.byteLength === 1) return { status }
  throw new BlockVerificationError(`a block response with status ${status ?? 'missing'} and ${bytes.byteLength} bytes`)
}
