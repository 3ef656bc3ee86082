import type { LabError, ErrorCode } from '../../src/shared/errors.js'

/**
 * The error names of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1 and RFC 7009/7662 that refresh-lab
 * answers with.
 */
export type OAuthErrorName =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'login_required'
  | 'access_denied'
  | 'server_error'

/** An error only the OAuth face has (an authorization code, PKCE): thrown by its handlers as is. */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorName,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description)
    this.name = 'OAuthError'
  }
}

/** The RFC 6749 §5.2 error each of refresh-lab's own codes stands for on an OAuth route. */
const OAUTH_NAME: Partial<Record<ErrorCode, OAuthErrorName>> = {
  // Unknown, expired, revoked and reused refresh tokens, and a wrong password, are all invalid_grant.
  INVALID_CREDENTIALS: 'invalid_grant',
  INVALID_REFRESH_TOKEN: 'invalid_grant',
  REFRESH_TOKEN_EXPIRED: 'invalid_grant',
  REFRESH_TOKEN_REUSED: 'invalid_grant',
  REFRESH_TOKEN_REVOKED: 'invalid_grant',
  UNSUPPORTED_GRANT_TYPE: 'unsupported_grant_type',
  // A bearer token refused by the userinfo endpoint (RFC 6750 §3.1).
  MISSING_TOKEN: 'invalid_token',
  INVALID_TOKEN: 'invalid_token',
  TOKEN_EXPIRED: 'invalid_token',
  TOKEN_REVOKED: 'invalid_token',
  INTERNAL_ERROR: 'server_error',
}

/** OAuth answers, errors included, are never cached (RFC 6749 §5.1). */
export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/** Whether a path is the OAuth face's, whose every error is an OAuth error body. */
export function isOAuthPath(path: string): boolean {
  return path.startsWith('/oauth/') || path.startsWith('/.well-known/')
}

/**
 * A LabError as RFC 6749 §5.2 words it: `{"error","error_description"}`. A token problem keeps its
 * 401 and a 404, 405, 413 or 415 keeps its status; every other refusal of the request is a 400.
 * The lab's own code stays in the description, so a test still sees which rule refused it.
 */
export function oauthAnswer(error: LabError): { status: number; body: { error: OAuthErrorName; error_description: string } } {
  const name = OAUTH_NAME[error.code] ?? 'invalid_request'
  const status = name === 'invalid_grant' || name === 'unsupported_grant_type' || error.status === 422 ? 400 : error.status
  const description = name === 'invalid_request' && status === 400 ? error.message : `${error.message} (${error.code})`
  return { status, body: { error: name, error_description: description } }
}

/**
 * An answer injected by `/_lab/faults` on an OAuth path, as RFC 6749 §5.2 words errors, with the
 * fault's own status. A lowercase code (`invalid_grant`, `temporarily_unavailable`) is the OAuth
 * error itself, as a GoTrue path takes its code as GoTrue's; any other code (refresh-lab's, or
 * `LAB_FAULT` when none is given) is named as the route's own errors are, and kept in the description.
 */
export function oauthFaultBody(status: number, code: string | undefined, message: string): { error: string; error_description: string } {
  if (code !== undefined && /^[a-z][a-z0-9_]*$/.test(code)) return { error: code, error_description: message }
  const labCode = code ?? 'LAB_FAULT'
  const name = OAUTH_NAME[labCode as ErrorCode] ?? (status >= 500 ? 'server_error' : 'invalid_request')
  return { error: name, error_description: `${message} (${labCode})` }
}

/** The token errors a protected resource answers: they carry `WWW-Authenticate` (RFC 6750 §3). */
export const BEARER_CODES: ReadonlySet<ErrorCode> = new Set(['MISSING_TOKEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'])

/**
 * RFC 6750 §3: a request with no token gets the challenge alone; one with a bad token gets
 * `error="invalid_token"` and a description, so a client library that reads the header (rather
 * than the body) knows to refresh.
 */
export function bearerChallenge(error: LabError): string {
  if (error.code === 'MISSING_TOKEN') return 'Bearer realm="refresh-lab"'
  const description = error.message.replace(/["\\]/g, "'")
  return `Bearer realm="refresh-lab", error="invalid_token", error_description="${description}"`
}
