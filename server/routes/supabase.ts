import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { LabError, type ErrorCode } from '../../src/shared/errors.js'
import { SUPABASE_ROUTES } from '../../src/shared/wire.js'
import { type AuthedEnv, requireAccessToken } from '../http/bearer.js'
import { goTrueErrorResponse } from '../http/gotrue-error.js'
import { readJson } from '../http/json-body.js'
import type { Lab } from '../lab.js'
import type { UserAccount } from '../config.js'
import { checkCredentials, refreshSession, refreshUnreadable, signIn, signOut, type IssuedTokens } from '../auth-service.js'
import { REGISTER_LIMITS } from './auth.js'

/** An error in GoTrue's own terms: its HTTP status, its `error_code` and its message. */
class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * What GoTrue answers where refresh-lab has a LabError (supabase/auth `internal/api`, the token
 * service and `requireAuthentication`). The lab's own code stays in the stats and the event log.
 */
const GOTRUE_ERROR: Partial<Record<ErrorCode, [status: number, code: string, message: string | null]>> = {
  MISSING_TOKEN: [401, 'no_authorization', 'This endpoint requires a valid Bearer token'],
  INVALID_TOKEN: [403, 'bad_jwt', null],
  TOKEN_EXPIRED: [403, 'bad_jwt', 'invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired'],
  // GoTrue deletes a session on sign-out; its access tokens then name a session that does not exist.
  TOKEN_REVOKED: [403, 'session_not_found', 'Session from session_id claim in JWT does not exist'],
  INVALID_REFRESH_TOKEN: [400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found'],
  REFRESH_TOKEN_REUSED: [400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used'],
  // A revoked session's tokens: GoTrue has deleted the session (sign-out, or a reuse under its v2 algorithm).
  REFRESH_TOKEN_REVOKED: [400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found'],
  REFRESH_TOKEN_EXPIRED: [400, 'session_expired', 'Invalid Refresh Token: Session Expired'],
  INVALID_CREDENTIALS: [400, 'invalid_credentials', 'Invalid login credentials'],
  EMAIL_TAKEN: [422, 'user_already_exists', 'User already registered'],
  VALIDATION_ERROR: [400, 'validation_failed', null],
  UNSUPPORTED_MEDIA_TYPE: [415, 'bad_json', null],
  BAD_REQUEST: [400, 'bad_json', null],
  PAYLOAD_TOO_LARGE: [413, 'request_entity_too_large', null],
}

/** GoTrue's minimum password length by default (`GOTRUE_PASSWORD_MIN_LENGTH`). */
const MIN_PASSWORD = 6

/**
 * GoTrue's face of the same sessions, served under `--profile supabase` (docs/server.md): password
 * sign-in and refresh at `/auth/v1/token`, the user, sign-out and sign-up, in GoTrue's shapes, so
 * supabase-js's auth client (`createClient(url, anyKey)`) runs against the lab unchanged. The
 * `apikey` header it sends is accepted whatever it holds.
 */
export function registerSupabaseRoutes(parent: Hono<AuthedEnv>, lab: Lab): void {
  // A sub-app, as the OAuth routes are: Hono's route() keeps its own error handler for its routes.
  const app = new Hono<AuthedEnv>()
  app.onError(goTrueErrorAnswer)
  const verifyAccess = requireAccessToken(lab)
  // GoTrue answers anything but `Bearer <token>` with 401 no_authorization, before it reads the token.
  const requireAccess: MiddlewareHandler<AuthedEnv> = (c, next) => {
    if (!/^Bearer\s+\S+/i.test(c.req.header('authorization') ?? '')) {
      throw new GoTrueError(401, 'no_authorization', 'This endpoint requires a valid Bearer token')
    }
    return verifyAccess(c, next)
  }

  app.post(SUPABASE_ROUTES.token, async function token(c) {
    const grant = c.req.query('grant_type') ?? ''
    if (grant === 'password') {
      const body = await readBody(c)
      const email = optionalString(body, 'email')
      if (email !== '' && optionalString(body, 'phone') !== '') {
        throw new GoTrueError(400, 'validation_failed', 'Only an email address or phone number should be provided on login.')
      }
      // Users here have no phone number, so signing in by phone finds nobody, as GoTrue says it.
      if (email === '' && optionalString(body, 'phone') === '') throw new GoTrueError(400, 'validation_failed', 'missing email or phone')
      return c.json(sessionBody(await signIn(lab, checkCredentials(lab, email, optionalString(body, 'password')))), 200)
    }
    if (grant === 'refresh_token') {
      let presented: string
      try {
        presented = optionalString(await readBody(c), 'refresh_token')
        // GoTrue's own check before it looks the token up.
        if (presented.length < 12) throw new GoTrueError(400, 'validation_failed', 'Refresh token is not valid')
      } catch (error) {
        refreshUnreadable(lab, error instanceof LabError ? error.code : 'VALIDATION_ERROR')
        throw error
      }
      return c.json(sessionBody(await refreshSession(lab, presented)), 200)
    }
    // Sic: GoTrue answers an unknown grant with invalid_credentials and this message.
    throw new GoTrueError(400, 'invalid_credentials', 'unsupported_grant_type')
  })

  app.get(SUPABASE_ROUTES.user, requireAccess, async function user(c) {
    const account = lab.users.byId(c.get('claims').sub)
    if (!account) throw new GoTrueError(403, 'user_not_found', 'User from sub claim in JWT does not exist')
    return c.json(await userBody(lab, account), 200)
  })

  app.post(SUPABASE_ROUTES.logout, requireAccess, async function logout(c) {
    const scope = c.req.query('scope') ?? 'global'
    if (scope !== 'global' && scope !== 'local' && scope !== 'others') {
      throw new GoTrueError(400, 'validation_failed', `Unsupported logout scope "${scope.slice(0, 50)}"`)
    }
    const { sid, sub } = c.get('claims')
    const families = scope === 'local' ? [sid] : (await lab.store.families(sub)).map((family) => family.id)
    for (const family of families) {
      if (scope === 'others' && family === sid) continue
      if (await lab.store.isActive(family)) await signOut(lab, sub, family)
    }
    return c.body(null, 204)
  })

  app.post(SUPABASE_ROUTES.signup, async function signup(c) {
    const body = await readBody(c)
    const email = optionalString(body, 'email')
    const password = optionalString(body, 'password')
    if (email === '') throw new GoTrueError(400, 'validation_failed', 'To signup, please provide your email')
    if (email.length > REGISTER_LIMITS.email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw new GoTrueError(400, 'validation_failed', 'Unable to validate email address: invalid format')
    }
    if (password === '') throw new GoTrueError(422, 'validation_failed', 'Signup requires a valid password')
    if (password.length < MIN_PASSWORD) {
      throw new GoTrueError(422, 'weak_password', `Password should be at least ${MIN_PASSWORD} characters.`)
    }
    if (password.length > REGISTER_LIMITS.password) throw new GoTrueError(422, 'validation_failed', 'Password is too long')
    const data = body['data']
    const name =
      typeof data === 'object' && data !== null && typeof (data as { name?: unknown }).name === 'string'
        ? (data as { name: string }).name
        : undefined
    const account = lab.users.add(email, password, name === undefined || name === '' ? undefined : name.slice(0, REGISTER_LIMITS.name))
    // As GoTrue with email confirmation off (`GOTRUE_MAILER_AUTOCONFIRM`): signed in at once.
    return c.json(sessionBody(await signIn(lab, account)), 200)
  })

  for (const path of Object.values(SUPABASE_ROUTES)) {
    app.all(path, (c) => {
      throw new GoTrueError(405, 'validation_failed', `${c.req.method} is not allowed on ${path}`)
    })
  }

  parent.route('/', app)
}

/** The session GoTrue answers a sign-in or refresh with (its `AccessTokenResponse`). */
function sessionBody(issued: IssuedTokens): Record<string, unknown> {
  return {
    access_token: issued.accessToken,
    token_type: 'bearer',
    expires_in: issued.expiresIn,
    expires_at: issued.expiresAt,
    refresh_token: issued.refreshToken,
    user: issued.user ? userFields(issued.user, issued.family.createdAt) : null,
  }
}

async function userBody(lab: Lab, account: UserAccount): Promise<Record<string, unknown>> {
  const newest = (await lab.store.families(account.id)).reduce((latest, family) => Math.max(latest, family.createdAt), 0)
  return userFields(account, newest === 0 ? undefined : newest)
}

/** GoTrue's user object, as far as a lab user has its fields; ids stay the lab's (`usr_1`), not UUIDs. */
function userFields(account: UserAccount, lastSignInMs: number | undefined): Record<string, unknown> {
  const lastSignIn = lastSignInMs === undefined ? null : new Date(lastSignInMs).toISOString()
  return {
    id: account.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: account.email,
    email_confirmed_at: lastSignIn,
    phone: '',
    confirmed_at: lastSignIn,
    last_sign_in_at: lastSignIn,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: { name: account.name },
    identities: [],
    created_at: lastSignIn,
    updated_at: lastSignIn,
    is_anonymous: false,
  }
}

/**
 * A JSON object body. GoTrue decodes into a struct, so a body that is empty or not JSON, or a
 * field of the wrong type, is `bad_json`; a missing field is simply empty.
 */
async function readBody(c: Context): Promise<Record<string, unknown>> {
  let value: unknown
  try {
    value = await readJson(c)
  } catch (error) {
    if (error instanceof LabError && error.code === 'VALIDATION_ERROR') {
      throw new GoTrueError(400, 'bad_json', `Could not parse request body as JSON: ${error.message}`)
    }
    throw error
  }
  // GoTrue decodes even an empty body, and Go's decoder calls that the end of the input.
  if (value === undefined) throw new GoTrueError(400, 'bad_json', 'Could not parse request body as JSON: unexpected end of JSON input')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GoTrueError(400, 'bad_json', 'Could not parse request body as JSON: the body must be a JSON object')
  }
  return value as Record<string, unknown>
}

function optionalString(body: Record<string, unknown>, field: string): string {
  const value = body[field]
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') throw new GoTrueError(400, 'bad_json', `Could not parse request body as JSON: "${field}" must be a string`)
  return value
}

/** A GoTrueError, or a LabError GoTrue has a name for, in GoTrue's shape; anything else goes on to the app's handler. */
function goTrueErrorAnswer(error: Error, c: Context): Response {
  let answer: GoTrueError
  if (error instanceof GoTrueError) answer = error
  else if (error instanceof LabError && GOTRUE_ERROR[error.code]) {
    const [status, code, message] = GOTRUE_ERROR[error.code] as [number, string, string | null]
    const text = message ?? (code === 'bad_jwt' ? `invalid JWT: unable to parse or verify signature, ${error.message}` : error.message)
    answer = new GoTrueError(status, code, text)
  } else throw error
  return goTrueErrorResponse(c, answer.status, answer.code, answer.message)
}
