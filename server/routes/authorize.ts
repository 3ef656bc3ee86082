import type { Context, Hono } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES } from '../../src/shared/wire.js'
import { checkCredentials, revokeSession } from '../auth-service.js'
import { CODE_TTL_MS } from '../authorization-codes.js'
import { DEFAULT_CLIENT_ID, type UserAccount } from '../config.js'
import type { AuthedEnv } from '../http/bearer.js'
import { readBodyText } from '../http/json-body.js'
import { NO_STORE } from '../http/oauth-errors.js'
import type { Lab } from '../lab.js'
import { checkRedirect } from '../oauth-clients.js'

/** Limits on what the authorization request carries, so a code costs bounded memory. */
export const AUTHORIZE_LIMITS = { state: 1_024, nonce: 1_024, scope: 1_000, loginHint: 254 } as const

/** A refusal sent back to the client's redirect URI (RFC 6749 §4.1.2.1), once that URI is trusted. */
class RedirectError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description)
  }
}

/**
 * The authorization code flow's browser face: `/oauth/authorize` (RFC 6749 §4.1 with PKCE S256,
 * RFC 7636, and OpenID Connect's `nonce`) and RP-initiated logout at `/oauth/logout`. A request the
 * lab cannot trust the redirect of (unknown client, unregistered redirect URI, an oversized `state`)
 * gets an error page and is never redirected; every other refusal goes back to the redirect URI.
 */
export function registerAuthorizeRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  const authorize = async (c: Context) => {
    const params = c.req.method === 'POST' ? await formParams(c) : queryParams(c.req.url)
    if (params === undefined) return errorPage(c, 'invalid_request', 'a parameter appears more than once (RFC 6749 §3.1)')
    const clientId = params.get('client_id') ?? ''
    const redirectUri = params.get('redirect_uri') ?? ''
    if (clientId === '') return errorPage(c, 'invalid_request', `client_id is required (try ${DEFAULT_CLIENT_ID})`)
    if (redirectUri === '') return errorPage(c, 'invalid_request', 'redirect_uri is required')
    const check = checkRedirect(lab.config, clientId, redirectUri)
    if (check === 'unknown-client') return errorPage(c, 'invalid_client', `no client "${clientId}" is registered (--client-id)`)
    if (check === 'unregistered-redirect') {
      return errorPage(
        c,
        'invalid_request',
        clientId === DEFAULT_CLIENT_ID
          ? `${DEFAULT_CLIENT_ID} redirects only to a loopback http URI (http://127.0.0.1:<port>/…, http://[::1]:<port>/…, http://localhost:<port>/…)`
          : `the redirect_uri is not one registered for "${clientId}" (--redirect-uri; matched exactly)`,
      )
    }
    const state = params.get('state')
    // Never reflected: a huge state would be echoed into a URL the browser may refuse to follow.
    if (state !== null && state.length > AUTHORIZE_LIMITS.state) {
      return errorPage(c, 'invalid_request', `state is longer than ${AUTHORIZE_LIMITS.state} characters`)
    }
    const back = (query: Record<string, string>) => {
      const url = new URL(redirectUri)
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value)
      if (state !== null) url.searchParams.set('state', state)
      // RFC 9207: says which server answered, against mix-up attacks.
      url.searchParams.set('iss', lab.tokens.issuer)
      return c.redirect(url.toString(), 302)
    }
    try {
      const request = checkRequest(params)
      let user: UserAccount | undefined
      if (lab.config.interactiveLogin) {
        if (params.get('prompt') === 'none') throw new RedirectError('login_required', 'the lab signs in with a form (--interactive-login)')
        if (c.req.method !== 'POST' || !params.has('email')) return loginForm(c, params)
        try {
          user = checkCredentials(lab, params.get('email') ?? '', params.get('password') ?? '')
        } catch (error) {
          if (error instanceof LabError) return loginForm(c, params, 'The email or password is wrong.')
          throw error
        }
      } else {
        const hint = params.get('login_hint')
        if (hint !== null && hint.length > AUTHORIZE_LIMITS.loginHint) throw new RedirectError('invalid_request', 'login_hint is too long')
        user = hint === null ? lab.users.list()[0] : lab.users.find(hint)
        if (!user) throw new RedirectError('login_required', `no user ${hint} in the lab (login_hint)`)
      }
      const now = lab.clock.now()
      const code = lab.codes.issue({
        clientId,
        redirectUri,
        codeChallenge: request.codeChallenge,
        userId: user.id,
        ...(request.scope === undefined ? {} : { scope: request.scope }),
        ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
        authTime: Date.now(),
        expiresAt: now + CODE_TTL_MS,
      })
      return back({ code })
    } catch (error) {
      if (error instanceof RedirectError) return back({ error: error.error, error_description: error.description })
      throw error
    }
  }
  app.get(ROUTES.oauthAuthorize, authorize)
  app.post(ROUTES.oauthAuthorize, authorize)

  // OpenID Connect RP-Initiated Logout 1.0: ends the session the ID token names.
  const logout = async (c: Context) => {
    const params = c.req.method === 'POST' ? await formParams(c) : queryParams(c.req.url)
    if (params === undefined) return errorPage(c, 'invalid_request', 'a parameter appears more than once')
    const hint = params.get('id_token_hint')
    const claims = hint ? await lab.tokens.idTokenClaims(hint) : undefined
    if (hint && !claims) return errorPage(c, 'invalid_request', 'id_token_hint is not an ID token this server issued')
    const clientId = params.get('client_id') ?? (typeof claims?.['aud'] === 'string' ? claims['aud'] : undefined)
    const postLogout = params.get('post_logout_redirect_uri')
    if (postLogout && (clientId === undefined || checkRedirect(lab.config, clientId, postLogout) !== 'ok')) {
      return errorPage(c, 'invalid_request', 'post_logout_redirect_uri is not registered for the client')
    }
    if (typeof claims?.['sid'] === 'string') await revokeSession(lab, claims['sid'])
    if (!postLogout) return c.html(page('Signed out', '<p>The session has ended.</p>'), 200, NO_STORE)
    const url = new URL(postLogout)
    const state = params.get('state')
    if (state !== null && state.length <= AUTHORIZE_LIMITS.state) url.searchParams.set('state', state)
    return c.redirect(url.toString(), 302)
  }
  app.get(ROUTES.oauthLogout, logout)
  app.post(ROUTES.oauthLogout, logout)
}

interface CheckedRequest {
  codeChallenge: string
  scope?: string
  nonce?: string
}

/** RFC 6749 §4.1.1 and RFC 7636 §4.3: what a trusted client's request must hold. */
function checkRequest(params: URLSearchParams): CheckedRequest {
  const responseType = params.get('response_type')
  if (responseType !== 'code') {
    throw new RedirectError('unsupported_response_type', `response_type must be "code", not ${JSON.stringify(responseType)}`)
  }
  const mode = params.get('response_mode')
  if (mode !== null && mode !== 'query') throw new RedirectError('invalid_request', 'only response_mode=query is supported')
  const codeChallenge = params.get('code_challenge')
  if (codeChallenge === null)
    throw new RedirectError('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256')
  const method = params.get('code_challenge_method')
  if (method !== 'S256') {
    throw new RedirectError(
      'invalid_request',
      `code_challenge_method must be S256${method === 'plain' || method === null ? '; plain is refused' : ''}`,
    )
  }
  // The base64url of a SHA-256 digest: 43 characters, no padding.
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge))
    throw new RedirectError('invalid_request', 'code_challenge is not a base64url SHA-256 digest')
  const scope = params.get('scope')?.trim().replace(/\s+/g, ' ')
  if (scope !== undefined && scope.length > AUTHORIZE_LIMITS.scope) throw new RedirectError('invalid_scope', 'the scope is too long')
  const nonce = params.get('nonce')
  if (nonce !== null && nonce.length > AUTHORIZE_LIMITS.nonce) throw new RedirectError('invalid_request', 'nonce is too long')
  return { codeChallenge, ...(scope ? { scope } : {}), ...(nonce ? { nonce } : {}) }
}

/** The query's parameters, or undefined when one appears twice. */
function queryParams(url: string): URLSearchParams | undefined {
  return unique(new URL(url).searchParams)
}

async function formParams(c: Context): Promise<URLSearchParams | undefined> {
  const type = c.req.header('content-type') ?? ''
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    throw new LabError('VALIDATION_ERROR', 'the body must be application/x-www-form-urlencoded')
  }
  return unique(new URLSearchParams(await readBodyText(c)))
}

function unique(params: URLSearchParams): URLSearchParams | undefined {
  const keys = [...params.keys()]
  return new Set(keys).size === keys.length ? params : undefined
}

function errorPage(c: Context, error: string, description: string): Response {
  return c.html(
    page(
      'Sign-in refused',
      `<p><code>${escapeHtml(error)}</code>: ${escapeHtml(description)}</p><p>Nothing was sent to the application.</p>`,
    ),
    400,
    NO_STORE,
  )
}

/** `--interactive-login`: a minimal form that posts the authorization request back with the credentials. */
function loginForm(c: Context, params: URLSearchParams, problem?: string): Response {
  const hidden = [...params]
    .filter(([name]) => name !== 'email' && name !== 'password')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('')
  const email = params.get('email') ?? params.get('login_hint') ?? ''
  const body = `${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="${ROUTES.oauthAuthorize}">${hidden}
<label>Email <input name="email" type="email" autocomplete="username" value="${escapeHtml(email)}" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`
  return c.html(page('Sign in to refresh-lab', body), problem ? 401 : 200, NO_STORE)
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto}label{display:block;margin:.5rem 0}input{display:block;width:100%}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}
