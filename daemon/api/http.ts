import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidRequestError, PayloadTooLargeError } from '../../lib/interface/errors.js'
import type { ErrorBody } from '../../lib/interface/api.js'

/** Requests to the control API are small; anything larger is refused before it is buffered. */
export const MAX_BODY_BYTES = 64 * 1024

const STATUS_BY_NAME: Record<string, number> = {
  InvalidRequestError: 400,
  InvalidMultiaddrError: 400,
  ConfigError: 400,
  NotFoundError: 404,
  MemberNotFoundError: 404,
  InvalidLabelError: 400,
  InvalidServiceSpecError: 400,
  InvalidRegistrationError: 400,
  ConflictError: 409,
  ServiceNotFoundError: 404,
  InvalidManifestError: 400,
  ModuleNotFoundError: 404,
  DependencyError: 422,
  BlockVerificationError: 422,
  BlockUnavailableError: 503,
  ModuleLimitError: 422,
  ModuleTimeoutError: 504,
  ModuleTrapError: 502,
  CapabilityDeniedError: 403,
  UnauthorizedError: 403,
  UntrustedModuleError: 403,
  UnauthenticatedError: 401,
  ForbiddenError: 403,
  InvalidTokenError: 400,
  MethodNotAllowedError: 405,
  PayloadTooLargeError: 413,
  DialFailedError: 502,
  InstanceUnreachableError: 502,
  ServiceEndpointError: 502,
  NoInstanceError: 503,
  NoHandlerError: 503,
  ServiceNotReadyError: 503,
  DeadlineExceededError: 504,
  TimeoutError: 504,
  AbortError: 504,
  RdfSyntaxError: 400,
  SparqlSyntaxError: 400,
  QueryTimeoutError: 504,
  GraphNotFoundError: 404,
  GraphCorruptError: 500,
  GraphUnavailableError: 503,
  AnalyzerError: 502,
  TaskNotFoundError: 404,
  NoProcessorError: 422,
  UnsupportedMediaTypeError: 415,
  OverloadedError: 503
}

export function statusFor (err: Error): number {
  return STATUS_BY_NAME[err.name] ?? 500
}

export function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text)
  })
  res.end(text)
}

export function sendText (res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export function sendError (res: ServerResponse, err: Error): void {
  const body: ErrorBody = { error: { name: err.name, message: err.message } }
  if (!res.headersSent) {
    sendJson(res, statusFor(err), body)
  } else {
    res.destroy(err)
  }
}

/** Read a request body of at most `limit` bytes: refused on the declared length first, before reading. */
export async function readBody (req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    throw new PayloadTooLargeError(`request body of ${declared} bytes exceeds the ${limit} byte limit`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) {
      throw new PayloadTooLargeError(`request body exceeds the ${limit} byte limit`)
    }
    chunks.push(chunk as Buffer)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/** Read a JSON object body of at most `limit` bytes. */
export async function readJson (req: IncomingMessage, limit: number = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit)
  if (body.length === 0) {
    return {}
  }
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch (err: any) {
    throw new InvalidRequestError(`request body is not valid JSON: ${err.message}`)
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRequestError('request body must be a JSON object')
  }
  return value as Record<string, unknown>
}
