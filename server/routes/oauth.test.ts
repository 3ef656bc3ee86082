import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { decode, lab } from '../../test/support/app.js'

const PASSWORD_GRANT = { grant_type: 'password', username: 'demo@example.com', password: 'password', client_id: 'my-app' }

describe('POST /oauth/token (RFC 6749)', () => {
  it('answers the password grant with §5.1 fields, never cached', async () => {
    const res = await lab().call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, scope: 'api' } })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'api' })
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('pragma')).toBe('no-cache')
  })

  it('answers the password grant of an openid scope with an ID token, as its refreshes do', async () => {
    const { call } = lab({ alg: 'ES256' })
    const res = await call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, scope: 'openid email' } })
    expect(res.status).toBe(200)
    const jwks = createLocalJWKSet((await call('GET', '/.well-known/jwks.json')).body)
    const { payload } = await jwtVerify(res.body.id_token, jwks, { issuer: 'http://localhost', audience: 'my-app' })
    expect(payload).toMatchObject({ sub: 'usr_1', azp: 'my-app', email: 'demo@example.com', sid: decode(res.body.access_token)['sid'] })
    expect(payload).not.toHaveProperty('nonce')
    expect(payload['auth_time']).toBeTypeOf('number')
    const digest = createHash('sha256').update(res.body.access_token).digest()
    expect(payload['at_hash']).toBe(digest.subarray(0, 16).toString('base64url'))
  })

  it('rotates with the refresh_token grant, and answers invalid_grant for the rotated token, which revokes the session', async () => {
    const { call } = lab()
    const first = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body
    const second = await call('POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: 'my-app' },
    })
    expect(second.status).toBe(200)
    expect(second.body.refresh_token).not.toBe(first.refresh_token)
    const replay = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })
    expect(replay.status).toBe(400)
    expect(replay.body.error).toBe('invalid_grant')
    expect(replay.body.error_description).toContain('REFRESH_TOKEN_REUSED')
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats).toMatchObject({ reuseDetected: 1, refresh: { calls: 2, succeeded: 1, rejected: 1 } })
  })

  it.each([
    [{ grant_type: 'refresh_token', refresh_token: 'unknown' }, 'invalid_grant'],
    [{ grant_type: 'password', username: 'demo@example.com', password: 'wrong' }, 'invalid_grant'],
    [{ grant_type: 'refresh_token' }, 'invalid_request'],
    [{ grant_type: 'password', username: 'demo@example.com' }, 'invalid_request'],
    [{ username: 'demo@example.com' }, 'invalid_request'],
    [{ grant_type: 'client_credentials' }, 'unsupported_grant_type'],
    [{ grant_type: 'authorization_code', code: 'x', client_id: 'c' }, 'invalid_grant'],
    [{ grant_type: 'authorization_code', client_id: 'c' }, 'invalid_request'],
  ])('answers %j with 400 %s (§5.2)', async (form, error) => {
    const res = await lab().call('POST', '/oauth/token', { form })
    expect(res.status).toBe(400)
    expect(res.body.error).toBe(error)
    expect(typeof res.body.error_description).toBe('string')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it('names the lab code under an invalid_grant, and answers every other failure with an OAuth body too', async () => {
    const { call } = lab()
    const wrong = await call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, password: 'wrong' } })
    expect(wrong.body.error_description).toContain('(INVALID_CREDENTIALS)')
    const oversized = await call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, padding: 'x'.repeat(100_000) } })
    expect(oversized.status).toBe(413)
    expect(oversized.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('PAYLOAD_TOO_LARGE') })
    // The request event still carries the code behind the OAuth answer.
    const { events } = (await call('GET', '/_lab/events')).body as { events: { type: string; route?: string; code?: string }[] }
    expect(events.filter((e) => e.type === 'request' && e.route === 'POST /oauth/token').map((e) => e.code)).toEqual([
      'INVALID_CREDENTIALS',
      'PAYLOAD_TOO_LARGE',
    ])
  })

  it.each([
    ['GET', '/oauth/nothing', 404],
    ['GET', '/.well-known/nothing', 404],
    ['GET', '/oauth/token', 405],
    ['PUT', '/oauth/revoke', 405],
  ])('answers %s %s with %i and an OAuth error body, whose error is a string', async (method, path, status) => {
    const res = await lab().call(method, path)
    expect(res.status).toBe(status)
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  it.each([
    [{ status: 503 }, 503, { error: 'server_error', error_description: 'injected by the lab: status 503 (LAB_FAULT)' }],
    [
      { status: 400, code: 'REFRESH_TOKEN_REUSED', message: 'nope' },
      400,
      { error: 'invalid_grant', error_description: 'nope (REFRESH_TOKEN_REUSED)' },
    ],
    [
      { status: 503, code: 'temporarily_unavailable', message: 'later' },
      503,
      { error: 'temporarily_unavailable', error_description: 'later' },
    ],
  ])('answers a status fault %j on /oauth/token with an OAuth error body and the fault status', async (fault, status, body) => {
    const { call } = lab()
    expect((await call('POST', '/_lab/faults', { json: { path: '/oauth/token', times: 1, ...fault } })).status).toBe(201)
    const faulted = await call('POST', '/oauth/token', { form: PASSWORD_GRANT })
    expect(faulted.status).toBe(status)
    expect(faulted.body).toEqual(body)
    expect(faulted.headers.get('cache-control')).toBe('no-store')
    // Spent: the next call runs the route.
    expect((await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).status).toBe(200)
  })

  it('counts a faulted refresh grant as a refresh call, faulted, as on the other faces; a faulted password grant is none', async () => {
    const { call } = lab()
    const signedIn = await call('POST', '/oauth/token', { form: PASSWORD_GRANT })
    const refreshGrant = { grant_type: 'refresh_token', refresh_token: signedIn.body.refresh_token }
    await call('POST', '/_lab/faults', { json: { path: '/oauth/token', times: 3, status: 503 } })
    expect((await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).status).toBe(503)
    expect((await call('POST', '/oauth/token', { form: refreshGrant })).status).toBe(503)
    expect((await call('POST', '/oauth/token', { json: refreshGrant })).status).toBe(503)
    expect((await call('GET', '/_lab/stats')).body).toMatchObject({ refresh: { calls: 2, faulted: 2, succeeded: 0 } })
  })

  it('takes a JSON body as Auth0 does, and refuses repeated form parameters and nested JSON as invalid_request', async () => {
    const { call } = lab()
    const signedIn = await call('POST', '/oauth/token', { json: PASSWORD_GRANT })
    expect(signedIn.status).toBe(200)
    const refreshed = await call('POST', '/oauth/token', {
      json: { grant_type: 'refresh_token', refresh_token: signedIn.body.refresh_token },
    })
    expect(refreshed.status).toBe(200)
    expect((await call('POST', '/oauth/token', { json: { ...PASSWORD_GRANT, username: ['demo@example.com'] } })).body.error).toBe(
      'invalid_request',
    )
    expect((await call('POST', '/oauth/token', { json: [PASSWORD_GRANT] })).body.error).toBe('invalid_request')
    const repeated = await call('POST', '/oauth/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&grant_type=refresh_token',
    })
    expect(repeated.body).toMatchObject({ error: 'invalid_request', error_description: 'the parameter grant_type appears more than once' })
    expect(
      (await call('POST', '/oauth/token', { body: 'grant_type=password', headers: { 'content-type': 'text/plain' } })).body.error,
    ).toBe('invalid_request')
  })

  it('answers invalid_grant for an expired refresh token', async () => {
    const { call, advance } = lab({ refreshTtl: '1h' })
    const { refresh_token } = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body
    await advance('2h')
    const res = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token } })
    expect(res.body).toMatchObject({ error: 'invalid_grant' })
    expect(res.body.error_description).toContain('REFRESH_TOKEN_EXPIRED')
  })
})

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('answers 200 with {} as JSON even for an unknown token', async () => {
    const res = await lab().call('POST', '/oauth/revoke', { form: { token: 'never-issued' } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({})
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  })

  it('revokes the whole family of a refresh token', async () => {
    const { call } = lab()
    const first = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body
    const second = (await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })).body
    expect((await call('POST', '/oauth/revoke', { form: { token: second.refresh_token, token_type_hint: 'refresh_token' } })).status).toBe(
      200,
    )
    const after = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: second.refresh_token } })
    expect(after.body.error).toBe('invalid_grant')
    expect((await call('GET', '/api/users', { token: second.access_token })).body.error.code).toBe('TOKEN_REVOKED')
  })

  it('needs a token', async () => {
    expect((await lab().call('POST', '/oauth/revoke', { form: {} })).body).toMatchObject({ error: 'invalid_request' })
  })
})

describe('POST /oauth/introspect (RFC 7662)', () => {
  it('describes an active access and refresh token, and anything else as {"active":false}', async () => {
    const { call } = lab()
    const tokens = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body
    const access = (await call('POST', '/oauth/introspect', { form: { token: tokens.access_token } })).body
    expect(access).toMatchObject({
      active: true,
      token_type: 'Bearer',
      token_use: 'access_token',
      sub: 'usr_1',
      username: 'demo@example.com',
      aud: 'refresh-lab',
    })
    const refresh = (await call('POST', '/oauth/introspect', { form: { token: tokens.refresh_token } })).body
    expect(refresh).toMatchObject({ active: true, token_use: 'refresh_token', sub: 'usr_1' })
    expect(refresh).not.toHaveProperty('token_type')
    await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
    expect((await call('POST', '/oauth/introspect', { form: { token: tokens.refresh_token } })).body).toEqual({ active: false })
    expect((await call('POST', '/oauth/introspect', { form: { token: 'garbage' } })).body).toEqual({ active: false })
  })
})

describe('introspection inside the reuse grace', () => {
  it('calls a rotated refresh token active exactly while the token endpoint still accepts it', async () => {
    const { call, advance } = lab({ reuseGrace: '10s' })
    const first = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body
    await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })
    const introspect = async () => (await call('POST', '/oauth/introspect', { form: { token: first.refresh_token } })).body.active
    expect(await introspect()).toBe(true)
    expect((await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })).status).toBe(
      200,
    )
    await advance('11s')
    expect(await introspect()).toBe(false)
    expect((await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })).status).toBe(
      400,
    )
  })

  it("with --grace-returns parent, calls only the newest token's direct parent active, as the token endpoint does", async () => {
    const { call } = lab({ reuseGrace: '10s', graceReturns: 'parent' })
    const refresh = (token: string) => call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: token } })
    const active = async (token: string) => (await call('POST', '/oauth/introspect', { form: { token } })).body.active
    const rt0 = (await call('POST', '/oauth/token', { form: PASSWORD_GRANT })).body.refresh_token
    const rt1 = (await refresh(rt0)).body.refresh_token
    const rt2 = (await refresh(rt1)).body.refresh_token
    // RT1 is RT2's direct parent: active, and the token endpoint answers it with RT2.
    expect(await active(rt1)).toBe(true)
    const forgiven = await refresh(rt1)
    expect(forgiven.status).toBe(200)
    expect(forgiven.body.refresh_token).toBe(rt2)
    // RT0 is two rotations old, inside the grace all the same: inactive, and the token endpoint revokes.
    expect(await active(rt0)).toBe(false)
    const reused = await refresh(rt0)
    expect(reused.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('REFRESH_TOKEN_REUSED') })
    expect(await active(rt2)).toBe(false)
  })
})

describe('WWW-Authenticate on a 401 from a protected resource (RFC 6750 §3)', () => {
  it('names the scheme alone without a token, and invalid_token for a bad or expired one', async () => {
    const { call, login, advance } = lab()
    expect((await call('GET', '/api/users')).headers.get('www-authenticate')).toBe('Bearer realm="refresh-lab"')
    expect((await call('GET', '/api/users', { token: 'a.b.c' })).headers.get('www-authenticate')).toMatch(
      /^Bearer realm="refresh-lab", error="invalid_token", error_description="[^"]+"$/,
    )
    const { access_token } = await login()
    await advance('16m')
    const expired = await call('GET', '/api/users', { token: access_token })
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"')
    // A wrong password is not a bearer problem: no challenge.
    const wrong = await call('POST', '/api/auth/login', { json: { email: 'demo@example.com', password: 'nope' } })
    expect(wrong.headers.get('www-authenticate')).toBeNull()
  })
})

describe('discovery and JWKS', () => {
  it('describes the endpoints under the issuer', async () => {
    const res = await lab({ issuer: 'https://auth.example.test' }).call('GET', '/.well-known/openid-configuration')
    expect(res.body).toMatchObject({
      issuer: 'https://auth.example.test',
      token_endpoint: 'https://auth.example.test/oauth/token',
      revocation_endpoint: 'https://auth.example.test/oauth/revoke',
      introspection_endpoint: 'https://auth.example.test/oauth/introspect',
      jwks_uri: 'https://auth.example.test/.well-known/jwks.json',
      grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
    })
  })

  it('publishes no key for HS256, whose secret stays secret', async () => {
    expect((await lab().call('GET', '/.well-known/jwks.json')).body).toEqual({ keys: [] })
  })

  it.each(['ES256', 'RS256', 'EdDSA'])('publishes the %s public key, and tokens verify against it by kid', async (alg) => {
    const { call, login } = lab({ alg })
    const jwks = (await call('GET', '/.well-known/jwks.json')).body
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ alg, use: 'sig', kid: expect.any(String) })
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|"p"|"q"/)
    const { access_token } = await login()
    const { payload, protectedHeader } = await jwtVerify(access_token, createLocalJWKSet(jwks), { audience: 'refresh-lab' })
    expect(protectedHeader).toMatchObject({ alg, kid: jwks.keys[0].kid })
    expect(payload).toMatchObject({ typ: 'access', sub: 'usr_1' })
  })
})

describe('RFC 9068 access tokens', () => {
  const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>

  it.each(['HS256', 'ES256'])(
    '%s: typ at+jwt, client_id, and the scope asked for, in the token and in every refresh answer',
    async (alg) => {
      const { call } = lab({ alg })
      const first = (await call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, scope: 'openid  api:read' } })).body
      expect(header(first.access_token)).toMatchObject({ typ: 'at+jwt', alg })
      expect(decode(first.access_token)).toMatchObject({ client_id: 'my-app', scope: 'openid api:read', aud: 'refresh-lab', sub: 'usr_1' })
      expect(first.scope).toBe('openid api:read')
      const second = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })
      expect(second.body.scope).toBe('openid api:read')
      expect(decode(second.body.access_token)).toMatchObject({ client_id: 'my-app', scope: 'openid api:read' })
      // Through the JSON wire too, the session keeps its grant.
      const { access_token } = (await call('POST', '/api/auth/refresh', { json: { refresh_token: second.body.refresh_token } })).body.data
      expect(decode(access_token)).toMatchObject({ client_id: 'my-app', scope: 'openid api:read' })
    },
  )

  it('names the built-in client when the sign-in named none, and puts no scope when none was asked', async () => {
    const { login } = lab()
    const claims = decode((await login()).access_token)
    expect(claims['client_id']).toBe('refresh-lab-client')
    expect(claims).not.toHaveProperty('scope')
  })

  it('takes aud from --audience, and refuses a token of another audience', async () => {
    const api = lab({ audience: 'https://api.example.test' })
    const { access_token } = await api.login()
    expect(decode(access_token)['aud']).toBe('https://api.example.test')
    expect((await api.call('GET', '/api/users', { token: access_token })).status).toBe(200)
    const other = lab({ audience: 'another-api', secret: 'test-secret-test-secret-test-secret' })
    expect((await other.call('GET', '/api/users', { token: access_token })).body.error.code).toBe('INVALID_TOKEN')
  })

  it('refuses an oversized scope as invalid_scope', async () => {
    const res = await lab().call('POST', '/oauth/token', { form: { ...PASSWORD_GRANT, scope: 'a'.repeat(1_001) } })
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_scope' } })
  })
})

describe("a users file's claims", () => {
  it('go into the access token, and cannot override the claims refresh-lab sets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-users-'))
    const usersFile = join(dir, 'users.json')
    writeFileSync(usersFile, JSON.stringify([{ email: 'ada@example.com', password: 's3cret', claims: { role: 'admin', org: { id: 7 } } }]))
    const { login } = lab({ usersFile })
    const claims = decode((await login('ada@example.com', 's3cret')).access_token)
    expect(claims).toMatchObject({ role: 'admin', org: { id: 7 }, sub: 'usr_1', typ: 'access' })
  })
})
