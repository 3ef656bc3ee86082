import { createHash } from 'node:crypto'
import { Hono, type Context } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import { isJsonMediaType, readBodyText, readJsonObject } from '../http/json-body.js'
import type { Lab } from '../lab.js'
import type { Grant } from '../store.js'
import { NO_STORE, OAuthError } from '../http/oauth-errors.js'
import { checkCredentials, refreshSession, refreshUnreadable, revokeSession, signIn, type IssuedTokens } from '../auth-service.js'
import { DEFAULT_CLIENT_ID, type UserAccount } from '../config.js'
import { requireAccessToken } from '../http/bearer.js'

/**
 * The OAuth 2.0 face of the same sessions, always on beside the wire profile: the token endpoint
 * (password and refresh_token grants, RFC 6749), revocation (RFC 7009), introspection (RFC 7662),
 * and the discovery document and JWKS a backend or `openid-client` reads.
 */
export function registerOAuthRoutes(parent: Hono<AuthedEnv>, lab: Lab): void {
  // Its errors are OAuth error bodies: the app's one error handler answers them for every path
  // under /oauth/ and /.well-known/ (server/http/oauth-errors.ts).
  const app = new Hono<AuthedEnv>()
  app.post(
    ROUTES.oauthToken,
    oauth(async function token(c, form) {
      const grant = form.get('grant_type')
      if (grant === 'password') {
        const issued = await passwordGrant(lab, form)
        return tokenAnswer(c, issued, await idTokenFor(lab, issued))
      }
      if (grant === 'refresh_token') {
        const issued = await refreshGrant(lab, form)
        return tokenAnswer(c, issued, await idTokenFor(lab, issued))
      }
      if (grant === 'authorization_code') {
        const { issued, nonce } = await codeGrant(lab, form, basicClientId(c.req.header('authorization')))
        return tokenAnswer(c, issued, await idTokenFor(lab, issued, nonce))
      }
      if (grant === null) throw new LabError('VALIDATION_ERROR', 'grant_type is required')
      throw new LabError(
        'UNSUPPORTED_GRANT_TYPE',
        `grant_type "${grant}" is not supported; use authorization_code, password or refresh_token`,
      )
    }),
  )

  // RFC 7009: 200 whatever the token, so a client cannot probe which tokens exist.
  app.post(
    ROUTES.oauthRevoke,
    oauth(async function revoke(c, form) {
      const familyId = await familyOfToken(lab, required(form, 'token'))
      if (familyId !== undefined) await revokeSession(lab, familyId)
      // RFC 7009 §2.2 asks for no body, but an empty one without a content type makes some
      // clients' JSON parsing throw (simple-oauth2's revokeAll): `{}` reads as nothing in both.
      return c.json({}, 200, NO_STORE)
    }),
  )

  app.post(
    ROUTES.oauthIntrospect,
    oauth(async function introspect(c, form) {
      return c.json(await introspection(lab, required(form, 'token')), 200, NO_STORE)
    }),
  )

  // OpenID Connect Core §5.3: the signed-in user's claims, for the access token's session.
  const userinfo = requireAccessToken(lab)
  const userinfoAnswer = (c: Context<AuthedEnv>) => {
    const { sub } = c.get('claims')
    const user = lab.users.byId(sub)
    if (!user) throw new LabError('INVALID_TOKEN', 'the user of this access token is gone (the lab was reset)')
    return c.json(userClaims(user), 200, NO_STORE)
  }
  app.get(ROUTES.oauthUserinfo, userinfo, userinfoAnswer)
  app.post(ROUTES.oauthUserinfo, userinfo, userinfoAnswer)

  // OpenID Connect Discovery 1.0 and RFC 8414: one document under both names.
  const metadata = (c: Context) => {
    const issuer = lab.tokens.issuer
    const authMethods = ['none', 'client_secret_post', 'client_secret_basic']
    return c.json({
      issuer,
      authorization_endpoint: `${issuer}${ROUTES.oauthAuthorize}`,
      token_endpoint: `${issuer}${ROUTES.oauthToken}`,
      userinfo_endpoint: `${issuer}${ROUTES.oauthUserinfo}`,
      end_session_endpoint: `${issuer}${ROUTES.oauthLogout}`,
      revocation_endpoint: `${issuer}${ROUTES.oauthRevoke}`,
      introspection_endpoint: `${issuer}${ROUTES.oauthIntrospect}`,
      jwks_uri: `${issuer}${ROUTES.jwks}`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'sid', 'email', 'email_verified', 'name'],
      subject_types_supported: ['public'],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: authMethods,
      revocation_endpoint_auth_methods_supported: authMethods,
      introspection_endpoint_auth_methods_supported: authMethods,
      id_token_signing_alg_values_supported: [lab.config.alg],
      userinfo_signing_alg_values_supported: ['none'],
    })
  }
  app.get(ROUTES.discovery, metadata)
  app.get(ROUTES.oauthMetadata, metadata)

  app.get(ROUTES.jwks, async (c) => {
    const { publicJwk } = await lab.tokens.keys()
    return c.json({ keys: publicJwk ? [publicJwk] : [] })
  })

  parent.route('/', app)
}

/** An OAuth endpoint: reads the form before the handler runs. */
function oauth(handler: (c: Context, form: URLSearchParams) => Promise<Response>) {
  return async (c: Context): Promise<Response> => handler(c, await readForm(c))
}

async function passwordGrant(lab: Lab, form: URLSearchParams): Promise<IssuedTokens> {
  const email = required(form, 'username')
  const password = required(form, 'password')
  return signIn(lab, checkCredentials(lab, email, password), { ...grantOf(form), authTime: Date.now() })
}

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6). A code is spent by its first redemption, whatever the
 * outcome; a second one revokes the session the first started (RFC 6749 §4.1.2).
 */
async function codeGrant(
  lab: Lab,
  form: URLSearchParams,
  basicClient: string | undefined,
): Promise<{ issued: IssuedTokens; nonce?: string }> {
  const code = required(form, 'code')
  const clientId = form.get('client_id') ?? basicClient
  if (!clientId) throw new OAuthError('invalid_request', 'client_id is required')
  const grant = lab.codes.find(code)
  if (!grant) throw new OAuthError('invalid_grant', 'the authorization code is not one this server issued')
  if (grant.redeemed) {
    if (grant.redeemedFamily !== undefined) await revokeSession(lab, grant.redeemedFamily)
    throw new OAuthError('invalid_grant', 'the authorization code was already used, so the tokens it issued are revoked (RFC 6749 §4.1.2)')
  }
  grant.redeemed = true
  if (lab.clock.now() >= grant.expiresAt) throw new OAuthError('invalid_grant', 'the authorization code has expired')
  if (clientId !== grant.clientId) throw new OAuthError('invalid_grant', 'the authorization code was issued to another client')
  if (form.get('redirect_uri') !== grant.redirectUri) {
    throw new OAuthError('invalid_grant', 'redirect_uri differs from the one of the authorization request')
  }
  const verifier = form.get('code_verifier')
  if (verifier === null) throw new OAuthError('invalid_grant', 'code_verifier is required (PKCE)')
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
    throw new OAuthError('invalid_grant', 'code_verifier is not 43-128 unreserved characters')
  if (createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) {
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge (PKCE)')
  }
  const user = lab.users.byId(grant.userId)
  if (!user) throw new OAuthError('invalid_grant', 'the user of this code is gone (the lab was reset)')
  const issued = await signIn(lab, user, {
    clientId,
    ...(grant.scope === undefined ? {} : { scope: grant.scope }),
    authTime: grant.authTime,
  })
  grant.redeemedFamily = issued.family.id
  return { issued, ...(grant.nonce === undefined ? {} : { nonce: grant.nonce }) }
}

/** The client id of an `Authorization: Basic` header (client_secret_basic), when a client sends one. */
function basicClientId(header: string | undefined): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!match?.[1]) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const id = colon < 0 ? decoded : decoded.slice(0, colon)
  try {
    return decodeURIComponent(id.replace(/\+/g, ' ')) || undefined
  } catch {
    return undefined
  }
}

/**
 * An ID token (OpenID Connect Core §2) for a session granted the `openid` scope: at the code
 * exchange with the request's nonce, and at the password grant and every refresh without one
 * (Core §12.2). Its times are real time, not the lab clock: a client checks `iat` and `exp` against
 * its own clock on receipt. `auth_time` (required when `max_age` was asked for) is the session's
 * sign-in, the same in every ID token of the session as Core §12.2 asks (oidc-client-ts checks it).
 */
async function idTokenFor(lab: Lab, issued: IssuedTokens, nonce?: string): Promise<Record<string, string>> {
  const { family, user } = issued
  if (!family.scope?.split(' ').includes('openid') || !user) return {}
  const clientId = family.clientId ?? DEFAULT_CLIENT_ID
  const iat = Math.floor(Date.now() / 1000)
  const claims = {
    ...userClaims(user),
    aud: clientId,
    azp: clientId,
    sid: family.id,
    iat,
    exp: iat + issued.expiresIn,
    // Absent only for a session kept by --data-dir from before auth_time was recorded.
    ...(family.authTime === undefined ? {} : { auth_time: Math.floor(family.authTime / 1000) }),
    ...(nonce === undefined ? {} : { nonce }),
  }
  return { id_token: await lab.tokens.signIdToken(claims, issued.accessToken) }
}

/** What userinfo and ID tokens say of a user: the standard claims, then the users file's own. */
function userClaims(user: UserAccount): Record<string, unknown> {
  return { ...user.claims, sub: user.id, email: user.email, email_verified: true, name: user.name }
}

async function refreshGrant(lab: Lab, form: URLSearchParams): Promise<IssuedTokens> {
  const presented = form.get('refresh_token')
  if (presented === null || presented === '') {
    refreshUnreadable(lab, 'VALIDATION_ERROR')
    throw new LabError('VALIDATION_ERROR', 'refresh_token is required')
  }
  return refreshSession(lab, presented)
}

/** The client and scope a sign-in names, kept on its session for every refresh. */
function grantOf(form: URLSearchParams): Grant {
  const clientId = form.get('client_id')
  const scope = form.get('scope')?.trim().replace(/\s+/g, ' ')
  if (clientId && clientId.length > 200) throw new OAuthError('invalid_request', 'client_id is longer than 200 characters')
  if (scope && scope.length > 1_000) throw new OAuthError('invalid_scope', 'the scope is longer than 1000 characters')
  return { ...(clientId ? { clientId } : {}), ...(scope ? { scope } : {}) }
}

/** RFC 6749 §5.1; the scope granted at sign-in is in every answer, refreshes included. */
function tokenAnswer(c: Context, issued: IssuedTokens, extra: Record<string, string> = {}): Response {
  const { scope } = issued.family
  return c.json(
    {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      refresh_token: issued.refreshToken,
      ...(scope === undefined ? {} : { scope }),
      ...extra,
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
    // Inside the reuse grace a rotated token is still accepted by the token endpoint, so it is active.
    if (!family || !(await lab.store.accepts(token, now))) return { active: false }
    return {
      active: true,
      // RFC 7662 §2.2's token_type is RFC 6749 §7.1's access token type, which a refresh token
      // has none of; token_use (as Ory Hydra names it) says which kind this is.
      token_use: 'refresh_token',
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
    return { active: true, token_type: 'Bearer', token_use: 'access_token', username: lab.users.byId(claims.sub)?.email, ...claims }
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

/**
 * An `application/x-www-form-urlencoded` body, each parameter at most once (RFC 6749 §3.2), or a
 * JSON object of strings, as Auth0's token endpoint also takes.
 */
async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? ''
  if (isJsonMediaType(type)) return jsonParams(await readJsonObject(c, '{"grant_type":"refresh_token","refresh_token":"<token>"}'))
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new LabError('VALIDATION_ERROR', 'the body must be application/x-www-form-urlencoded or application/json')
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

/** A JSON body's parameters: strings, or numbers and booleans as their text; nothing nested. */
function jsonParams(body: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue
    if (typeof value === 'object') throw new LabError('VALIDATION_ERROR', `the parameter ${key} must be a string`)
    params.set(key, String(value))
  }
  return params
}

function required(form: URLSearchParams, name: string): string {
  const value = form.get(name)
  if (value === null || value === '') throw new LabError('VALIDATION_ERROR', `${name} is required`)
  return value
}
