import { Hono, type Context } from 'hono'
import { LabError, type ErrorCode } from '../../src/shared/errors.js'
import { ROUTES } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import { readBodyText } from '../http/json-body.js'
import type { Lab } from '../lab.js'
import { checkCredentials, refreshSession, refreshUnreadable, revokeSession, signIn, type IssuedTokens } from '../auth-service.js'

type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type'

/** The RFC 6749 §5.2 error each LabError an OAuth endpoint throws stands for. */
const OAUTH_ERROR: Partial<Record<ErrorCode, OAuthErrorCode>> = {
  VALIDATION_ERROR: 'invalid_request',
  BAD_REQUEST: 'invalid_request',
  UNSUPPORTED_GRANT_TYPE: 'unsupported_grant_type',
  INVALID_CREDENTIALS: 'invalid_grant',
  // Unknown, expired, revoked and reused refresh tokens are all invalid_grant (RFC 6749 §5.2).
  INVALID_REFRESH_TOKEN: 'invalid_grant',
  REFRESH_TOKEN_EXPIRED: 'invalid_grant',
  REFRESH_TOKEN_REUSED: 'invalid_grant',
  REFRESH_TOKEN_REVOKED: 'invalid_grant',
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * The OAuth 2.0 face of the same sessions, always on beside the wire profile: the token endpoint
 * (password and refresh_token grants, RFC 6749), revocation (RFC 7009), introspection (RFC 7662),
 * and the discovery document and JWKS a backend or `openid-client` reads.
 */
export function registerOAuthRoutes(parent: Hono<AuthedEnv>, lab: Lab): void {
  // A sub-app of its own, so its errors have their own wire shape: Hono's route() wraps each of a
  // sub-app's handlers in the sub-app's onError.
  const app = new Hono<AuthedEnv>()
  app.onError(oauthErrorAnswer)
  app.post(
    ROUTES.oauthToken,
    oauth(async function token(c, form) {
      const grant = form.get('grant_type')
      if (grant === 'password') return tokenAnswer(c, await passwordGrant(lab, form), form.get('scope'))
      if (grant === 'refresh_token') return tokenAnswer(c, await refreshGrant(lab, form), form.get('scope'))
      if (grant === null) throw new LabError('VALIDATION_ERROR', 'grant_type is required')
      throw new LabError('UNSUPPORTED_GRANT_TYPE', `grant_type "${grant}" is not supported; use password or refresh_token`)
    }),
  )

  // RFC 7009: 200 whatever the token, so a client cannot probe which tokens exist.
  app.post(
    ROUTES.oauthRevoke,
    oauth(async function revoke(c, form) {
      const familyId = await familyOfToken(lab, required(form, 'token'))
      if (familyId !== undefined) await revokeSession(lab, familyId)
      return c.body(null, 200, NO_STORE)
    }),
  )

  app.post(
    ROUTES.oauthIntrospect,
    oauth(async function introspect(c, form) {
      return c.json(await introspection(lab, required(form, 'token')), 200, NO_STORE)
    }),
  )

  app.get(ROUTES.discovery, (c) => {
    const issuer = lab.tokens.issuer
    return c.json({
      issuer,
      token_endpoint: `${issuer}${ROUTES.oauthToken}`,
      revocation_endpoint: `${issuer}${ROUTES.oauthRevoke}`,
      introspection_endpoint: `${issuer}${ROUTES.oauthIntrospect}`,
      jwks_uri: `${issuer}${ROUTES.jwks}`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: ['none'],
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
      revocation_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
      introspection_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic'],
      id_token_signing_alg_values_supported: [lab.config.alg],
    })
  })

  app.get(ROUTES.jwks, async (c) => {
    const { publicJwk } = await lab.tokens.keys()
    return c.json({ keys: publicJwk ? [publicJwk] : [] })
  })

  parent.route('/', app)
}

/**
 * RFC 6749 §5.2: a LabError OAuth has a name for answers `{"error","error_description"}`, status
 * 400, never cached. Anything else (an oversized or stalled body, a bug) goes on to the app's
 * one envelope handler.
 */
function oauthErrorAnswer(error: Error, c: Context): Response {
  if (!(error instanceof LabError)) throw error
  const oauthError = OAUTH_ERROR[error.code]
  if (oauthError === undefined) throw error
  const description = oauthError === 'invalid_grant' ? `${error.message} (${error.code})` : error.message
  return c.json({ error: oauthError, error_description: description }, 400, NO_STORE)
}

/** An OAuth endpoint: reads the form before the handler runs. */
function oauth(handler: (c: Context, form: URLSearchParams) => Promise<Response>) {
  return async (c: Context): Promise<Response> => handler(c, await readForm(c))
}

async function passwordGrant(lab: Lab, form: URLSearchParams): Promise<IssuedTokens> {
  const email = required(form, 'username')
  const password = required(form, 'password')
  return signIn(lab, checkCredentials(lab, email, password))
}

async function refreshGrant(lab: Lab, form: URLSearchParams): Promise<IssuedTokens> {
  const presented = form.get('refresh_token')
  if (presented === null || presented === '') {
    refreshUnreadable(lab, 'VALIDATION_ERROR')
    throw new LabError('VALIDATION_ERROR', 'refresh_token is required')
  }
  return refreshSession(lab, presented)
}

function tokenAnswer(c: Context, issued: IssuedTokens, scope: string | null): Response {
  return c.json(
    {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      refresh_token: issued.refreshToken,
      ...(scope === null ? {} : { scope }),
    },
    200,
    NO_STORE,
  )
}

/** RFC 7662: the token's claims when it is active, `{"active":false}` for anything else. */
async function introspection(lab: Lab, token: string): Promise<Record<string, unknown>> {
  const now = lab.clock.now()
  const record = await lab.store.lookup(token)
  if (record) {
    const family = await lab.store.family(record.familyId)
    const active = family?.status === 'active' && record.rotatedAt === null && now < record.expiresAt && now < family.expiresAt
    if (!active || !family) return { active: false }
    return {
      active: true,
      token_type: 'refresh_token',
      sub: family.userId,
      username: lab.users.byId(family.userId)?.email,
      sid: family.id,
      iat: Math.floor(record.issuedAt / 1000),
      exp: Math.floor(record.expiresAt / 1000),
    }
  }
  try {
    const claims = await lab.tokens.verify(token, now)
    if (lab.expiry.isExpiredEarly(claims) || (!lab.settings.statelessAccess && !(await lab.store.isActive(claims.sid))))
      return { active: false }
    return { active: true, token_type: 'access_token', username: lab.users.byId(claims.sub)?.email, ...claims }
  } catch (error) {
    if (error instanceof LabError) return { active: false }
    throw error
  }
}

async function familyOfToken(lab: Lab, token: string): Promise<string | undefined> {
  const record = await lab.store.lookup(token)
  if (record) return record.familyId
  try {
    return (await lab.tokens.verify(token, lab.clock.now())).sid
  } catch (error) {
    if (error instanceof LabError) return undefined
    throw error
  }
}

/** An `application/x-www-form-urlencoded` body, each parameter at most once (RFC 6749 §3.2). */
async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? ''
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new LabError('VALIDATION_ERROR', 'the body must be application/x-www-form-urlencoded')
  }
  let text: string
  try {
    text = await readBodyText(c)
  } catch (error) {
    if (error instanceof LabError) throw error
    throw new LabError('BAD_REQUEST', 'the request body could not be read')
  }
  const form = new URLSearchParams(text)
  const seen = new Set<string>()
  for (const key of form.keys()) {
    if (seen.has(key)) throw new LabError('VALIDATION_ERROR', `the parameter ${key} appears more than once`)
    seen.add(key)
  }
  return form
}

function required(form: URLSearchParams, name: string): string {
  const value = form.get(name)
  if (value === null || value === '') throw new LabError('VALIDATION_ERROR', `${name} is required`)
  return value
}
