/**
 * The error codes the server answers with, each with its HTTP status. Clients and the harness
 * read `error.code` from the envelope; tests assert codes, never messages.
 */
export const ERROR_STATUS = {
  MISSING_TOKEN: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  INVALID_REFRESH_TOKEN: 401,
  REFRESH_TOKEN_EXPIRED: 401,
  REFRESH_TOKEN_REUSED: 401,
  REFRESH_TOKEN_REVOKED: 401,
  INVALID_CREDENTIALS: 401,
  LAB_TOKEN_REQUIRED: 401,
  /** A `/_lab` call whose `Host` is not loopback, an IP address or an `--allowed-host` (DNS rebinding). */
  HOST_NOT_ALLOWED: 403,
  /** A `/_lab` call sent by a page of another origin (`Origin` is not the request's own host). */
  ORIGIN_NOT_ALLOWED: 403,
  /** A request body that is not declared JSON (`application/json` or `application/*+json`). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  EMAIL_TAKEN: 409,
  VALIDATION_ERROR: 422,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  /** No such route. */
  ROUTE_NOT_FOUND: 404,
  /** The route exists, but not the user or session it names. */
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** OAuth's token endpoint was asked for a grant other than password or refresh_token. */
  UNSUPPORTED_GRANT_TYPE: 400,
  PAYLOAD_TOO_LARGE: 413,
  /** The lab holds `--max-users` users already; a reset (or a higher `maxUsers`) makes room. */
  USER_LIMIT_REACHED: 507,
  /** As many live event streams (`/_lab/events/stream`) are open as `--max-event-streams` allows. */
  TOO_MANY_SUBSCRIBERS: 503,
  /** `--store redis://…`: the shared Redis cannot be reached (or is loading); nothing was changed, retry once it is back. */
  STORE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

/**
 * Every code by its own name, so a caller compares `code === ERROR_CODES.ROUTE_NOT_FOUND` and a
 * misspelt or renamed code fails the typecheck instead of never matching.
 */
export const ERROR_CODES = Object.freeze(Object.fromEntries(Object.keys(ERROR_STATUS).map((code) => [code, code]))) as {
  readonly [Code in ErrorCode]: Code
}

/** Whether a code read off the wire is one of refresh-lab's. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value)
}
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode] | 400

/** The one shape of every error response: `{"error":{"code","message"}}`. */
export interface ErrorEnvelope {
  error: { code: string; message: string }
}

/**
 * An error the server turns into its envelope; thrown by handlers, mapped in one `onError`. It is
 * an answer, not a fault, so it carries no stack trace: capturing one cost about 13 µs, more than
 * the rest of a 401 (a burst's thousands of them, issue 14). A bug is any other error, and keeps its stack.
 */
export class LabError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Only `VALIDATION_ERROR` varies: 400 when the body is not JSON at all, 422 otherwise. */
    readonly status: ErrorStatus = ERROR_STATUS[code],
  ) {
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = stackTraceLimit
    this.name = 'LabError'
  }

  toEnvelope(): ErrorEnvelope {
    return { error: { code: this.code, message: this.message } }
  }
}
