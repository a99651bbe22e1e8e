export { InvalidLabelError, MemberNotFoundError } from '../interface/errors.js'

export class ProbeError extends Error {
  override name = 'ProbeError'
}
