import { OAuth2Client, generateCodeVerifier } from '@badgateway/oauth2-client'
import * as oauth from 'oauth4webapi'
import * as oidc from 'openid-client'
import { startLab, type RunningLab } from 'refresh-lab'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * The authorization code flow with PKCE through three standards clients nobody here wrote, with no
 * setup on the lab's side: the built-in public client `refresh-lab-client` and a loopback redirect
 * URI. What must hold was decided from their docs: openid-client validates the ID token's claims
 * (iss, aud, azp, exp, iat, nonce), the `iss` authorization response parameter the metadata
 * advertises (RFC 9207) and the state; oauth4webapi's validateJwtAccessToken wants RFC 9068 (typ
 * at+jwt, client_id, jti, iat) and a key from the JWKS; @badgateway/oauth2-client given only the
 * server URL reads RFC 8414 metadata at /.well-known/oauth-authorization-server.
 */
const CLIENT_ID = 'refresh-lab-client'
/** Nothing listens here: the test reads the redirect off the 302 as a browser would follow it. */
const REDIRECT_URI = 'http://127.0.0.1:53682/callback'

/** Plays the browser: follows /oauth/authorize to the redirect and answers where it was sent. */
async function browse(url: URL | string): Promise<URL> {
  const res = await fetch(url, { redirect: 'manual' })
  const location = res.headers.get('location')
  if (res.status !== 302 || location === null) throw new Error(`expected a redirect, got ${res.status}: ${await res.text()}`)
  return new URL(location)
}

describe.each(['ES256', 'HS256'] as const)('openid-client, the code flow with PKCE against an %s lab', (alg) => {
  let lab: RunningLab
  let config: oidc.Configuration

  beforeAll(async () => {
    lab = await startLab({ alg, accessTtl: '30s', users: ['ada@example.com:s3cret', 'bob@example.com:pw'] })
    config = await oidc.discovery(new URL(lab.url), CLIENT_ID, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] })
  })
  afterAll(async () => {
    await lab.stop()
  })

  async function signIn(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    })
    const callback = await browse(url)
    return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
  }

  it('signs in, validates the ID token, refreshes with rotation and reads userinfo', async () => {
    const tokens = await signIn()
    const claims = tokens.claims()
    expect(claims).toMatchObject({ iss: lab.url, aud: CLIENT_ID, sub: 'usr_1', email: 'ada@example.com' })
    expect(tokens.scope).toBe('openid email offline_access')
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    expect(refreshed.scope).toBe('openid email offline_access')
    expect(refreshed.claims()?.sub).toBe('usr_1')
    const info = await oidc.fetchUserInfo(config, refreshed.access_token, claims?.sub as string)
    expect(info).toMatchObject({ sub: 'usr_1', email: 'ada@example.com' })
    // The rotated token spent again is reuse: invalid_grant, the session revoked.
    const reuse = await oidc.refreshTokenGrant(config, tokens.refresh_token as string).catch((e: unknown) => e)
    expect(reuse).toMatchObject({ error: 'invalid_grant' })
    expect(await oidc.fetchUserInfo(config, refreshed.access_token, 'usr_1').catch((e: unknown) => e)).toBeInstanceOf(
      oidc.WWWAuthenticateChallengeError,
    )
    expect((await lab.stats()).reuseDetected).toBeGreaterThanOrEqual(1)
  })

  it('signs in the login_hint user', async () => {
    expect((await signIn({ login_hint: 'bob@example.com' })).claims()?.sub).toBe('usr_2')
  })

  it('ends the session through end_session_endpoint', async () => {
    const tokens = await signIn()
    const bye = await browse(
      oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: 'http://127.0.0.1:53682/bye' }),
    )
    expect(bye.pathname).toBe('/bye')
    expect(await oidc.refreshTokenGrant(config, tokens.refresh_token as string).catch((e: unknown) => e)).toMatchObject({
      error: 'invalid_grant',
    })
  })
})

describe('oauth4webapi', () => {
  let lab: RunningLab
  beforeAll(async () => {
    lab = await startLab({ alg: 'ES256', audience: 'https://api.example.test' })
  })
  afterAll(async () => {
    await lab.stop()
  })

  it('discovers through RFC 8414, runs the code flow, and validateJwtAccessToken accepts the access token', async () => {
    const issuer = new URL(lab.url)
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }),
    )
    expect(as.authorization_endpoint).toBe(`${lab.url}/oauth/authorize`)
    const client: oauth.Client = { client_id: CLIENT_ID }
    const verifier = oauth.generateRandomCodeVerifier()
    const url = new URL(as.authorization_endpoint as string)
    url.search = new URLSearchParams({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'api:read',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString()
    const params = oauth.validateAuthResponse(as, client, await browse(url))
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, verifier, {
      [oauth.allowInsecureRequests]: true,
    })
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
    expect(tokens.scope).toBe('api:read')
    const request = new Request('https://api.example.test/things', { headers: { authorization: `Bearer ${tokens.access_token}` } })
    const claims = await oauth.validateJwtAccessToken(as, request, 'https://api.example.test', {
      signingAlgorithms: ['ES256'],
      [oauth.allowInsecureRequests]: true,
    })
    expect(claims).toMatchObject({ client_id: CLIENT_ID, scope: 'api:read', sub: 'usr_1', aud: 'https://api.example.test' })
    // A refresh through oauth4webapi keeps the scope.
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, {
        [oauth.allowInsecureRequests]: true,
      }),
    )
    expect(refreshed.scope).toBe('api:read')
  })
})

describe('@badgateway/oauth2-client given only the server URL', () => {
  let lab: RunningLab
  beforeAll(async () => {
    lab = await startLab({ accessTtl: '30s' })
  })
  afterAll(async () => {
    await lab.stop()
  })

  it('finds the endpoints by RFC 8414, signs in with the code flow, refreshes, revokes and reads OAuth errors', async () => {
    const client = new OAuth2Client({ server: lab.url, clientId: CLIENT_ID })
    const codeVerifier = await generateCodeVerifier()
    const authorizeUri = await client.authorizationCode.getAuthorizeUri({
      redirectUri: REDIRECT_URI,
      state: 'abc',
      codeVerifier,
      scope: ['openid'],
    })
    const callback = await browse(authorizeUri)
    const token = await client.authorizationCode.getTokenFromCodeRedirect(callback, {
      redirectUri: REDIRECT_URI,
      state: 'abc',
      codeVerifier,
    })
    const next = await client.refreshToken(token)
    expect(next.refreshToken).not.toBe(token.refreshToken)
    // The reused token: an OAuth error whose code is the string invalid_grant, not "[object Object]".
    const reuse = await client.refreshToken(token).catch((e: unknown) => e)
    expect(reuse).toMatchObject({ oauth2Code: 'invalid_grant', httpCode: 400 })
    const password = await client.password({ username: 'demo@example.com', password: 'password' })
    await client.revoke(password)
    expect(await client.introspect(password)).toMatchObject({ active: false })
  })
})
