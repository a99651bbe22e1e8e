export { InvalidLabelError, MemberNotFoundError } from '../interface/errors.js'

export class ProbeError extends Error {
  override name = 'ProbeError'
}

/** Aborts this node's connections to a member it holds failed (see Membership.dropConnections). */
export class MemberFailedError extends Error {
  override name = 'MemberFailedError'
}
