/**
 * Errors shared by the daemon, the library and the CLI. They cross the
 * control API as `{ error: { name, message } }` and are rebuilt by name on the
 * client side (see `errorFromWire`).
 */

export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly file: string
  readonly key: string | undefined

  constructor (message: string, file: string, key?: string) {
    super(message)
    this.file = file
    this.key = key
  }
}

export class RepoInUseError extends Error {
  override name = 'RepoInUseError'
}

export class RepoExistsError extends Error {
  override name = 'RepoExistsError'
}

export class KeyFileError extends Error {
  override name = 'KeyFileError'
}

export class DaemonNotRunningError extends Error {
  override name = 'DaemonNotRunningError'
  readonly repo: string

  constructor (repo: string) {
    super(`daemon not running at ${repo}; start it with \`noodled start --repo ${repo}\``)
    this.repo = repo
  }
}

export class InvalidMultiaddrError extends Error {
  override name = 'InvalidMultiaddrError'
}

export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError'
}

export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError'
}

export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

export class MethodNotAllowedError extends Error {
  override name = 'MethodNotAllowedError'
}

export class DialFailedError extends Error {
  override name = 'DialFailedError'
}

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

export class ListenError extends Error {
  override name = 'ListenError'
}

export class ApiSocketPathTooLongError extends Error {
  override name = 'ApiSocketPathTooLongError'
}

export class MemberNotFoundError extends Error {
  override name = 'MemberNotFoundError'
}

export class InvalidLabelError extends Error {
  override name = 'InvalidLabelError'
}

/** An error the daemon reported whose name this client does not know. */
export class RemoteError extends Error {
  override name: string
  readonly status: number

  constructor (name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.status = status
  }
}

/**
 * An error a service itself answered with, under the name it gave (an HTTP
 * endpoint's JSON error body, a socket endpoint's RpcError), name and
 * message cut to a sane length.
 */
export function serviceError (name: string, message: string): Error {
  const err = new Error(message.slice(0, 1024))
  err.name = name.slice(0, 128) || 'Error'
  return err
}

export class ServiceNotFoundError extends Error {
  override name = 'ServiceNotFoundError'
}

export class InvalidServiceSpecError extends Error {
  override name = 'InvalidServiceSpecError'
  /** the offending field, e.g. `requirements.memoryMb` ('' for the spec itself or when unknown) */
  readonly field: string

  constructor (message: string, field = '') {
    super(message)
    this.field = field
  }
}

/** An external service registration (name, endpoint, check) that does not validate. */
export class InvalidRegistrationError extends Error {
  override name = 'InvalidRegistrationError'
}

/** The operation does not apply to this thing as it stands (e.g. `pass` on a service without a ttl check). */
export class ConflictError extends Error {
  override name = 'ConflictError'
}

/** A call's deadline passed before its answer came (mesh RPC, gateway). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError'
}

/** The service exists but no instance of it can take a call now. */
export class NoInstanceError extends Error {
  override name = 'NoInstanceError'
}

/**
 * A call could not be completed by the instance it went to: the daemon could
 * not be reached, its stream closed before the answer, or it is suspected or
 * failed. An idempotent call is retried on another instance.
 */
export class InstanceUnreachableError extends Error {
  override name = 'InstanceUnreachableError'
}

/** The instance's daemon does not host the service (placement moved it, or it was deregistered). */
export class NoHandlerError extends Error {
  override name = 'NoHandlerError'
}

/** The caller gave up on the call before its deadline (a hedged call's loser, an aborted signal). */
export class CancelledError extends Error {
  override name = 'CancelledError'
}

/**
 * The instance's daemon owns the service but cannot take calls yet (its
 * module is still being fetched or started, or could not be loaded). The
 * call did not run; callers try another instance and leave this one alone
 * for a moment, without counting it as a failure.
 */
export class ServiceNotReadyError extends Error {
  override name = 'ServiceNotReadyError'
}

/** An external service's endpoint failed without saying how (HTTP 5xx without an error body, unreachable). */
export class ServiceEndpointError extends Error {
  override name = 'ServiceEndpointError'
}

/** A module manifest (`noodle.json`) that does not validate; `field` names the offending key. */
export class InvalidManifestError extends Error {
  override name = 'InvalidManifestError'
  readonly field: string

  constructor (message: string, field = '') {
    super(message)
    this.field = field
  }
}

/** No module of that name, no version matching the range, or no block with that CID. */
export class ModuleNotFoundError extends Error {
  override name = 'ModuleNotFoundError'
}

/** A module's dependencies cannot be resolved: a cycle, or ranges no single version satisfies. */
export class DependencyError extends Error {
  override name = 'DependencyError'
}

/** Bytes that do not hash to the CID they were asked for, or blocks that do not form a module. */
export class BlockVerificationError extends Error {
  override name = 'BlockVerificationError'
}

/** No reachable peer served the blocks asked for: none has them, or those that do could not be reached or served bad bytes. */
export class BlockUnavailableError extends Error {
  override name = 'BlockUnavailableError'
}

/** A module refused before it runs: it asks for more memory than its grant, or is not WebAssembly the sandbox accepts. */
export class ModuleLimitError extends Error {
  override name = 'ModuleLimitError'
}

/** A call into a module ran past its time limit; its instance is replaced unless the call finishes within a grace (pool.ts). */
export class ModuleTimeoutError extends Error {
  override name = 'ModuleTimeoutError'
}

/** A call into a module trapped (unreachable, out of bounds, out of memory, an abort); the instance is replaced. */
export class ModuleTrapError extends Error {
  override name = 'ModuleTrapError'
}

/** A module used a capability its grant does not include, or a deploy asked for more than the node's policy allows. */
export class CapabilityDeniedError extends Error {
  override name = 'CapabilityDeniedError'
}

/** A peer's message that is not UTF-8 JSON of the expected shape. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError'
}

/** A module from a publisher this node's policy does not trust. */
export class UntrustedModuleError extends Error {
  override name = 'UntrustedModuleError'
}

/** A capability token that cannot be read: not base64url, not a UCAN archive, too large, or of an unknown key type. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError'
}

/** A mesh operation without a capability that covers it: no token, or one that is forged, expired, revoked or too narrow. */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError'
}

/** A control API request over TCP without the repo's bearer token. */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError'
}

/** A web console request refused whoever asks: a foreign Host header (DNS rebinding), a write from another origin. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError'
}

/** Errors whose constructor takes just a message; keyed by their `name`. */
/** RDF that does not parse: the message names the line and column. */
export class RdfSyntaxError extends Error {
  override name = 'RdfSyntaxError'
}

/** A SPARQL query or update that does not parse: the message names the position. */
export class SparqlSyntaxError extends Error {
  override name = 'SparqlSyntaxError'
}

/** A query that ran past its time limit (it was stopped; the store is unchanged). */
export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError'
}

/** A stored graph whose bytes do not match their hash: named, never loaded silently. */
export class GraphCorruptError extends Error {
  override name = 'GraphCorruptError'
}

export class GraphNotFoundError extends Error {
  override name = 'GraphNotFoundError'
}

/** An analyzer service that failed, or answered outside the analyzer contract (docs/knowledge.md). */
export class AnalyzerError extends Error {
  override name = 'AnalyzerError'
}

/** No reachable daemon (owner or replica) served a graph's current version within the deadline. */
export class GraphUnavailableError extends Error {
  override name = 'GraphUnavailableError'
}

/** No fusion task of that name in any knowledge graph of the mesh. */
export class TaskNotFoundError extends Error {
  override name = 'TaskNotFoundError'
}

/** A fusion input's modality has no processor registered for the task, or is not one of the task's. */
export class NoProcessorError extends Error {
  override name = 'NoProcessorError'
}

/** A fusion input's media type is not one its modality's processors accept. */
export class UnsupportedMediaTypeError extends Error {
  override name = 'UnsupportedMediaTypeError'
}

/** The daemon is too busy to answer within the deadline asked for: try another daemon, or later. */
export class OverloadedError extends Error {
  override name = 'OverloadedError'
}

const KNOWN: Record<string, new (message: string) => Error> = {
  RepoInUseError,
  RepoExistsError,
  KeyFileError,
  InvalidMultiaddrError,
  InvalidRequestError,
  PayloadTooLargeError,
  NotFoundError,
  MethodNotAllowedError,
  DialFailedError,
  TimeoutError,
  MemberNotFoundError,
  InvalidLabelError,
  ServiceNotFoundError,
  InvalidServiceSpecError,
  InvalidRegistrationError,
  ConflictError,
  DeadlineExceededError,
  NoInstanceError,
  InstanceUnreachableError,
  NoHandlerError,
  ServiceNotReadyError,
  ServiceEndpointError,
  InvalidManifestError,
  ModuleNotFoundError,
  DependencyError,
  BlockVerificationError,
  BlockUnavailableError,
  ModuleLimitError,
  ModuleTimeoutError,
  ModuleTrapError,
  CapabilityDeniedError,
  InvalidTokenError,
  MalformedMessageError,
  UntrustedModuleError,
  UnauthorizedError,
  UnauthenticatedError,
  ForbiddenError,
  RdfSyntaxError,
  SparqlSyntaxError,
  QueryTimeoutError,
  GraphCorruptError,
  GraphNotFoundError,
  GraphUnavailableError,
  AnalyzerError,
  CancelledError,
  TaskNotFoundError,
  NoProcessorError,
  UnsupportedMediaTypeError,
  OverloadedError
}

/** Rebuild a named error from the wire form `{ name, message }`. */
export function errorFromWire (body: { name?: unknown, message?: unknown }, status: number): Error {
  const name = typeof body.name === 'string' ? body.name : 'Error'
  const message = typeof body.message === 'string' ? body.message : `daemon answered HTTP ${status}`
  const Known = Object.hasOwn(KNOWN, name) ? KNOWN[name] : undefined
  return Known != null ? new Known(message) : new RemoteError(name, message, status)
}

/** A relayed advert whose signature is not its member's. */
export class ForgedAdvertError extends Error {
  override name = 'ForgedAdvertError'
}
