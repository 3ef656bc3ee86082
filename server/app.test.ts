import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { decode, lab } from '../test/support/app.js'

describe('POST /api/auth/login', () => {
  it('answers an access token with the documented claims and an opaque refresh token', async () => {
    const { login } = lab({ accessTtl: '30s' })
    const tokens = await login()
    expect(tokens.expires_in).toBe(30)
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{48}$/)
    const claims = decode(tokens.access_token)
    expect(Object.keys(claims).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub', 'typ'])
    expect(claims).toMatchObject({ typ: 'access', sub: 'usr_1', iss: 'http://localhost', aud: 'refresh-lab' })
    expect(Number(claims['exp']) - Number(claims['iat'])).toBeGreaterThanOrEqual(30)
  })

  it.each([
    [{ json: { email: 'demo@example.com', password: 'nope' } }, 401, 'INVALID_CREDENTIALS'],
    [{ json: { email: 'ghost@example.com', password: 'password' } }, 401, 'INVALID_CREDENTIALS'],
    [{ json: { email: 'demo@example.com' } }, 422, 'VALIDATION_ERROR'],
    [{ json: { email: 42, password: 'password' } }, 422, 'VALIDATION_ERROR'],
    [{ json: { email: '', password: 'password' } }, 422, 'VALIDATION_ERROR'],
    [{ json: ['demo@example.com', 'password'] }, 422, 'VALIDATION_ERROR'],
    [{ json: null }, 422, 'VALIDATION_ERROR'],
    [{ body: '{"email":', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION_ERROR'],
    [{ body: '{"email":"demo@example.com","password":"password"}' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [{}, 400, 'VALIDATION_ERROR'],
    [{ body: 'x'.repeat(70 * 1024) }, 413, 'PAYLOAD_TOO_LARGE'],
  ])('refuses %j with %i %s', async (options, status, code) => {
    const res = await lab().call('POST', '/api/auth/login', options)
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(code)
    expect(typeof res.body.error.message).toBe('string')
  })

  it('takes the email in any case', async () => {
    const res = await lab().call('POST', '/api/auth/login', { json: { email: 'DEMO@example.com', password: 'password' } })
    expect(res.status).toBe(200)
  })
})

describe('POST /api/auth/register', () => {
  it('stops at --max-users with 507 USER_LIMIT_REACHED; those already in still sign in, and a reset makes room', async () => {
    const { call, login } = lab({ maxUsers: 3 })
    const register = (email: string) => call('POST', '/api/auth/register', { json: { email, password: 'password1' } })
    expect((await register('a@x.io')).status).toBe(201)
    expect((await register('b@x.io')).status).toBe(201)
    const full = await register('c@x.io')
    expect(full).toMatchObject({ status: 507, body: { error: { code: 'USER_LIMIT_REACHED' } } })
    expect(full.body.error.message).toContain('--max-users')
    await login('b@x.io', 'password1')
    await login()
    expect((await call('GET', '/_lab/config')).body.users).toEqual(['demo@example.com', 'a@x.io', 'b@x.io'])
    await call('POST', '/_lab/reset')
    expect((await register('c@x.io')).status).toBe(201)
  })
})

describe('POST /api/auth/refresh', () => {
  it('answers a new access AND a new refresh token, and the new pair works', async () => {
    const { login, refresh, call } = lab()
    const first = await login()
    const res = await refresh(first.refresh_token)
    expect(res.status).toBe(200)
    const next = res.body.data
    expect(next.refresh_token).not.toBe(first.refresh_token)
    expect(next.access_token).not.toBe(first.access_token)
    expect(decode(next.access_token)['sid']).toBe(decode(first.access_token)['sid'])
    expect((await call('GET', '/api/auth/me', { token: next.access_token })).status).toBe(200)
    expect((await refresh(next.refresh_token)).status).toBe(200)
  })

  it('revokes the whole family when a rotated token is spent again', async () => {
    const { login, refresh, call } = lab()
    const first = await login()
    const second = (await refresh(first.refresh_token)).body.data
    const replay = await refresh(first.refresh_token)
    expect(replay.status).toBe(401)
    expect(replay.body.error.code).toBe('REFRESH_TOKEN_REUSED')
    expect((await refresh(second.refresh_token)).body.error.code).toBe('REFRESH_TOKEN_REVOKED')
    expect((await call('GET', '/api/users', { token: second.access_token })).body.error.code).toBe('TOKEN_REVOKED')
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats).toMatchObject({ reuseDetected: 1, familiesRevoked: 1, refresh: { calls: 3, succeeded: 1, rejected: 2 } })
    const events = (await call('GET', '/_lab/events')).body.events
    expect(events.find((e: { type: string }) => e.type === 'reuse_detected')).toMatchObject({ generation: 1, code: 'REFRESH_TOKEN_REUSED' })
  })

  it('times each request on the monotonic clock, so calls can be drawn against each other', async () => {
    const { login, refresh, call } = lab()
    const first = await login()
    await refresh(first.refresh_token)
    const events = (await call('GET', '/_lab/events')).body.events as { type: string; startMs?: number; endMs?: number }[]
    const requests = events.filter((e) => e.type === 'request')
    expect(requests).toHaveLength(2)
    for (const request of requests) expect(request.endMs).toBeGreaterThanOrEqual(request.startMs as number)
    // The refresh was sent after the sign-in was answered.
    expect(requests[1]?.startMs).toBeGreaterThanOrEqual(requests[0]?.endMs as number)
    // Lab events are not calls: no times.
    expect(events.find((e) => e.type === 'login')).not.toHaveProperty('startMs')
  })

  it('hands back the child already issued for a reuse inside the grace', async () => {
    const { login, refresh, call } = lab({ reuseGrace: '10s' })
    const first = await login()
    const second = (await refresh(first.refresh_token)).body.data
    const again = await refresh(first.refresh_token)
    expect(again.status).toBe(200)
    expect(again.body.data.refresh_token).toBe(second.refresh_token)
    expect((await call('GET', '/_lab/stats')).body).toMatchObject({ reuseDetected: 0, refresh: { graceReuses: 1 } })
  })

  it('lets exactly one of many concurrent refreshes with one token win', async () => {
    const { login, refresh } = lab()
    const { refresh_token } = await login()
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(refresh_token)))
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 401)).toHaveLength(49)
  })

  it('refuses a refresh token past its expiry by the lab clock', async () => {
    const { login, refresh, advance } = lab({ refreshTtl: '1h' })
    const { refresh_token } = await login()
    await advance('1h')
    expect((await refresh(refresh_token)).body.error.code).toBe('REFRESH_TOKEN_EXPIRED')
  })

  it('refuses an access token at /refresh and says why', async () => {
    const { login, refresh } = lab()
    const { access_token } = await login()
    const res = await refresh(access_token)
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('INVALID_REFRESH_TOKEN')
    expect(res.body.error.message).toContain('looks like an access token')
  })

  it.each([
    [{ json: {} }, 422, 'VALIDATION_ERROR'],
    [{ json: { refresh_token: 7 } }, 422, 'VALIDATION_ERROR'],
    [{ body: 'refresh_token=abc', headers: { 'content-type': 'application/json' } }, 400, 'VALIDATION_ERROR'],
    [{ body: 'refresh_token=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('refuses a malformed body %j with its code and counts it as a rejected call', async (options, status, code) => {
    const { call } = lab()
    const res = await call('POST', '/api/auth/refresh', options)
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(code)
    expect((await call('GET', '/_lab/stats')).body.refresh).toMatchObject({
      calls: 1,
      rejected: 1,
      rejectedByCode: { [code]: 1 },
    })
  })
})

describe('POST /api/auth/logout', () => {
  it('revokes the caller family so its refresh token is refused', async () => {
    const { login, call, refresh } = lab()
    const tokens = await login()
    const res = await call('POST', '/api/auth/logout', { token: tokens.access_token })
    expect(res.status).toBe(200)
    expect((await refresh(tokens.refresh_token)).body.error.code).toBe('REFRESH_TOKEN_REVOKED')
    expect((await call('GET', '/api/auth/me', { token: tokens.access_token })).body.error.code).toBe('TOKEN_REVOKED')
  })

  it('keeps access tokens alive after logout with --stateless-access', async () => {
    const { login, call } = lab({ statelessAccess: true })
    const tokens = await login()
    await call('POST', '/api/auth/logout', { token: tokens.access_token })
    expect((await call('GET', '/api/auth/me', { token: tokens.access_token })).status).toBe(200)
  })
})

describe('bearer checks on every protected route', () => {
  it.each([
    ['POST', '/api/auth/logout'],
    ['GET', '/api/auth/me'],
    ['GET', '/api/users'],
    ['POST', '/api/echo'],
  ])('%s %s answers MISSING_TOKEN without a token and TOKEN_EXPIRED after expiry', async (method, path) => {
    const { call, login, advance } = lab({ accessTtl: '30s' })
    expect((await call(method, path)).body.error.code).toBe('MISSING_TOKEN')
    const { access_token } = await login()
    await advance('31s')
    expect((await call(method, path, { token: access_token })).body.error.code).toBe('TOKEN_EXPIRED')
  })
})

describe('protected resources', () => {
  it('serves /api/users and /api/auth/me with a valid access token', async () => {
    const { login, call } = lab()
    const { access_token } = await login()
    expect((await call('GET', '/api/users', { token: access_token })).body.data).toEqual([
      { id: 'usr_1', email: 'demo@example.com', name: 'demo' },
    ])
    expect((await call('GET', '/api/auth/me', { token: access_token })).body.data.email).toBe('demo@example.com')
  })

  it('echoes a POST body exactly as received', async () => {
    const { login, call } = lab()
    const { access_token } = await login()
    const note = { title: 'groceries', items: ['milk', 'eggs'], done: false }
    expect((await call('POST', '/api/echo', { token: access_token, json: note })).body.data.received).toEqual(note)
  })

  it('expires the access token when the lab clock passes exp', async () => {
    const { login, call, advance } = lab({ accessTtl: '30s' })
    const { access_token } = await login()
    await advance('29s')
    expect((await call('GET', '/api/users', { token: access_token })).status).toBe(200)
    await advance('2s')
    expect((await call('GET', '/api/users', { token: access_token })).body.error.code).toBe('TOKEN_EXPIRED')
  })

  it('refuses a token signed with another secret, as after a restart', async () => {
    const { call } = lab()
    const { login } = lab({ secret: 'another-secret-another-secret-another' })
    const foreign = await login()
    expect((await call('GET', '/api/users', { token: foreign.access_token })).body.error.code).toBe('INVALID_TOKEN')
  })

  it('refuses a correctly signed token that is not an access token', async () => {
    const { call } = lab()
    const secret = new TextEncoder().encode('test-secret-test-secret-test-secret')
    const now = Math.floor(Date.now() / 1000)
    const idToken = await new SignJWT({ sid: 'fam_x', typ: 'id' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('http://localhost')
      .setAudience('refresh-lab')
      .setSubject('usr_1')
      .setJti('j')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(secret)
    expect((await call('GET', '/api/users', { token: idToken })).body.error.code).toBe('INVALID_TOKEN')
  })

  it.each([
    [{}, 'MISSING_TOKEN'],
    [{ headers: { authorization: '' } }, 'MISSING_TOKEN'],
    [{ headers: { authorization: 'Basic ZGVtbzpwYXNzd29yZA==' } }, 'INVALID_TOKEN'],
    [{ headers: { authorization: 'Bearer' } }, 'INVALID_TOKEN'],
    [{ headers: { authorization: 'Bearer a b' } }, 'INVALID_TOKEN'],
    [{ token: 'garbage' }, 'INVALID_TOKEN'],
    [{ token: 'a.b.c' }, 'INVALID_TOKEN'],
  ])('refuses %j as 401 %s', async (options, code) => {
    const res = await lab().call('GET', '/api/users', options)
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe(code)
  })

  it('refuses a refresh token used as a bearer token', async () => {
    const { login, call } = lab()
    const { refresh_token } = await login()
    expect((await call('GET', '/api/users', { token: refresh_token })).body.error.code).toBe('INVALID_TOKEN')
  })
})

describe('unknown routes and methods', () => {
  it('answers 404 ROUTE_NOT_FOUND in the envelope', async () => {
    const res = await lab().call('GET', '/nope')
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'ROUTE_NOT_FOUND', message: 'no route GET /nope' } } })
  })

  it.each([
    ['GET', '/api/auth/refresh'],
    ['DELETE', '/api/auth/login'],
    ['POST', '/api/users'],
    ['GET', '/_lab/reset'],
    ['PUT', '/_lab/config'],
    ['POST', '/_lab/stats'],
  ])('answers 405 METHOD_NOT_ALLOWED for %s %s', async (method, path) => {
    const res = await lab().call(method, path)
    expect(res.status).toBe(405)
    expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED')
  })
})

describe('lab control API', () => {
  it('counts requests by route and status, but not its own', async () => {
    const { login, call } = lab()
    const { access_token } = await login()
    await call('GET', '/api/users', { token: access_token })
    await call('GET', '/api/users')
    await call('GET', '/nope')
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats.requests).toEqual({
      'POST /api/auth/login': { '200': 1 },
      'GET /api/users': { '200': 1, '401': 1 },
      unmatched: { '404': 1 },
    })
    expect(stats.logins).toBe(1)
  })

  it('moves and reports the virtual clock', async () => {
    const { call, advance } = lab()
    const before = (await call('GET', '/_lab/clock')).body
    const after = (await advance('35s')).body
    expect(after.offsetMs).toBe(35_000)
    expect(after.nowMs - before.nowMs).toBeGreaterThanOrEqual(35_000)
    const set = await call('POST', '/_lab/clock', { json: { set: '2030-01-01T00:00:00Z' } })
    expect(set.body.now.startsWith('2030-01-01T00:00:0')).toBe(true)
  })

  it.each([
    [{ json: { advance: '35' } }, 422],
    [{ json: { advance: 35 } }, 422],
    [{ json: {} }, 422],
    [{ json: { advance: '1s', set: 0 } }, 422],
    [{ json: { set: 'yesterday' } }, 422],
    [{ json: { set: 1e20 } }, 422],
    [{ json: { set: -5 } }, 422],
    [{ json: { advance: '36501d' } }, 422],
    [{ body: 'nope', headers: { 'content-type': 'application/json' } }, 400],
  ])('refuses a bad clock request %j', async (options, status) => {
    const res = await lab().call('POST', '/_lab/clock', options)
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe('VALIDATION_ERROR')
  })

  it('pages the event log and refuses a bad cursor', async () => {
    const { login, call } = lab()
    await login()
    await login()
    const page = (await call('GET', '/_lab/events?after=0&limit=1')).body
    expect(page.events).toHaveLength(1)
    expect(page.lastId).toBeGreaterThanOrEqual(2)
    expect((await call('GET', '/_lab/events?after=-1')).status).toBe(400)
  })

  it('resets sessions, counters, events and the clock', async () => {
    const { login, call, refresh, advance } = lab()
    const { refresh_token } = await login()
    await advance('1h')
    expect((await call('POST', '/_lab/reset')).status).toBe(200)
    expect((await call('GET', '/_lab/stats')).body).toMatchObject({ logins: 0, requests: {} })
    expect((await call('GET', '/_lab/clock')).body.offsetMs).toBe(0)
    expect((await refresh(refresh_token)).body.error.code).toBe('INVALID_REFRESH_TOKEN')
  })

  it('shows the settings in force', async () => {
    const res = await lab({ accessTtl: '30s', reuseGrace: '2s' }).call('GET', '/_lab/config')
    // Every live setting is in the answer too (src/shared/settings.test.ts walks them).
    expect(res.body).toMatchObject({
      accessTtlMs: 30_000,
      refreshTtlMs: 604_800_000,
      sessionTtlMs: 2_592_000_000,
      reuseGraceMs: 2_000,
      reuseGraceCount: 0,
      graceReturns: 'existing',
      statelessAccess: false,
      profile: 'simple',
      alg: 'HS256',
      issuer: 'http://localhost',
      users: ['demo@example.com'],
    })
  })
})
