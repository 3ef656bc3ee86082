import { describe, expect, it } from 'vitest'
import { decode, lab } from '../../test/support/app.js'

/**
 * The auth routes as each wire profile answers them: the whole app through `app.request()` (no
 * socket), sign-in to refresh to an injected fault. The profiles' own mapping, without the app, is
 * unit-tested in `server/wire-profiles.test.ts`.
 */
describe('the grit profile', () => {
  const grit = () => lab({ profile: 'grit', accessTtl: '15m' })
  const signIn = async (call: ReturnType<typeof lab>['call']) =>
    (await call('POST', '/api/auth/login', { json: { email: 'demo@example.com', password: 'password' } })).body

  it('answers login with the user and the tokens under data.tokens, expires_at in Unix seconds, and a message', async () => {
    const { call } = grit()
    const before = Math.floor(Date.now() / 1000)
    const body = await signIn(call)
    expect(Object.keys(body).sort()).toEqual(['data', 'message'])
    expect(body.message).toBe('Login successful')
    expect(body.data.user).toEqual({ id: 'usr_1', email: 'demo@example.com', name: 'demo' })
    expect(Object.keys(body.data.tokens).sort()).toEqual(['access_token', 'expires_at', 'refresh_token'])
    expect(body.data.tokens.expires_at).toBeGreaterThanOrEqual(before + 900)
    expect(body.data.tokens.expires_at).toBeLessThanOrEqual(before + 902)
  })

  it('answers refresh with the tokens only, no user', async () => {
    const { call } = grit()
    const { tokens } = (await signIn(call)).data
    const res = await call('POST', '/api/auth/refresh', { json: { refresh_token: tokens.refresh_token } })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body.data)).toEqual(['tokens'])
    expect(res.body.message).toBe('Token refreshed')
  })

  it('registers a user with 201, and refuses a taken email and a short password', async () => {
    const { call } = grit()
    const res = await call('POST', '/api/auth/register', { json: { name: 'Ada', email: 'ada@example.com', password: 'correct horse' } })
    expect(res.status).toBe(201)
    expect(res.body.data.user).toEqual({ id: 'usr_2', email: 'ada@example.com', name: 'Ada' })
    expect(res.body.message).toBe('Registration successful')
    expect((await call('POST', '/api/auth/login', { json: { email: 'ada@example.com', password: 'correct horse' } })).status).toBe(200)
    expect((await call('POST', '/api/auth/register', { json: { email: 'ada@example.com', password: 'another one' } })).status).toBe(409)
    const short = await call('POST', '/api/auth/register', { json: { email: 'bob@example.com', password: 'short' } })
    expect(short).toMatchObject({ status: 422, body: { error: { code: 'VALIDATION_ERROR' } } })
  })

  it("speaks Grit's error codes: MISSING_TOKEN, INVALID_TOKEN, SESSION_REVOKED, VALIDATION_ERROR 422", async () => {
    const { call, advance } = grit()
    const { tokens } = (await signIn(call)).data
    expect((await call('GET', '/api/auth/me')).body.error.code).toBe('MISSING_TOKEN')
    const missing = await call('POST', '/api/auth/refresh', { json: {} })
    expect(missing).toMatchObject({ status: 422, body: { error: { code: 'VALIDATION_ERROR' } } })
    const notJson = await call('POST', '/api/auth/refresh', { body: 'nope', headers: { 'content-type': 'application/json' } })
    expect(notJson).toMatchObject({ status: 422, body: { error: { code: 'VALIDATION_ERROR' } } })
    const next = (await call('POST', '/api/auth/refresh', { json: { refresh_token: tokens.refresh_token } })).body.data.tokens
    const reused = await call('POST', '/api/auth/refresh', { json: { refresh_token: tokens.refresh_token } })
    expect(reused).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } })
    const revoked = await call('POST', '/api/auth/refresh', { json: { refresh_token: next.refresh_token } })
    expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'INVALID_TOKEN' } } })
    await advance('16m')
    expect((await call('GET', '/api/auth/me', { token: next.access_token })).body.error.code).toBe('INVALID_TOKEN')
    // The lab keeps its own codes, so stats read the same in every profile.
    expect((await call('GET', '/_lab/stats')).body.refresh.rejectedByCode).toMatchObject({
      REFRESH_TOKEN_REUSED: 1,
      REFRESH_TOKEN_REVOKED: 1,
    })
  })

  it('answers logout with a message and me with the user', async () => {
    const { call } = grit()
    const { tokens } = (await signIn(call)).data
    expect((await call('GET', '/api/auth/me', { token: tokens.access_token })).body).toEqual({
      data: { id: 'usr_1', email: 'demo@example.com', name: 'demo' },
    })
    expect((await call('POST', '/api/auth/logout', { token: tokens.access_token })).body).toEqual({ message: 'Logged out successfully' })
  })

  it("puts an injected fault's refresh-lab code on the wire as Grit would", async () => {
    const { call } = grit()
    await call('POST', '/_lab/faults', { json: { path: '/api/auth/refresh', status: 401, code: 'REFRESH_TOKEN_REUSED' } })
    expect((await call('POST', '/api/auth/refresh', { json: { refresh_token: 'x' } })).body.error.code).toBe('SESSION_REVOKED')
  })
})

describe('the simple profile', () => {
  it('registers a user too, with 201 and the usual token shape', async () => {
    const res = await lab().call('POST', '/api/auth/register', { json: { email: 'ada@example.com', password: 'correct horse' } })
    expect(res.status).toBe(201)
    expect(Object.keys(res.body.data).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
  })
})

describe('a sub-second access TTL in every profile', () => {
  // 0.3 s past a whole second, where a 500ms TTL once answered "expires_in": 0 with exp a second away.
  const atFraction = async (call: ReturnType<typeof lab>['call']) =>
    expect((await call('POST', '/_lab/clock', { json: { set: '2031-01-01T00:00:00.300Z' } })).status).toBe(200)
  const login = { json: { email: 'demo@example.com', password: 'password' } }

  it('simple: "expires_in": 1, and exp at least that far away', async () => {
    const { call, lab: state } = lab({ accessTtl: '500ms' })
    await atFraction(call)
    const before = state.clock.now()
    const { data } = (await call('POST', '/api/auth/login', login)).body
    expect(data.expires_in).toBe(1)
    expect((decode(data.access_token)['exp'] as number) * 1000).toBeGreaterThanOrEqual(before + 1000)
  })

  it("grit: expires_at is the token's exp", async () => {
    const { call } = lab({ accessTtl: '500ms', profile: 'grit' })
    await atFraction(call)
    const { tokens } = (await call('POST', '/api/auth/login', login)).body.data
    expect(tokens.expires_at).toBe(decode(tokens.access_token)['exp'])
  })

  it('OAuth token endpoint: "expires_in": 1 for both grants', async () => {
    const { call } = lab({ accessTtl: '500ms' })
    await atFraction(call)
    const form = { grant_type: 'password', username: 'demo@example.com', password: 'password' }
    const first = (await call('POST', '/oauth/token', { form })).body
    expect(first.expires_in).toBe(1)
    const second = (await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.refresh_token } })).body
    expect(second.expires_in).toBe(1)
  })
})
