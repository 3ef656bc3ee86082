import { describe, expect, it } from 'vitest'
import { type CallOptions, decode, lab } from '../../test/support/app.js'

/**
 * GoTrue's routes under `--profile supabase`, through `app.request()`: the shapes supabase-js's
 * auth client reads (test/interop/supabase-js.test.ts runs the client itself against a socket).
 */
const V2024 = { 'x-supabase-api-version': '2024-01-01' }

function supabase(flags: Parameters<typeof lab>[0] = {}) {
  const l = lab({ profile: 'supabase', ...flags })
  const token = (grant: string, body: unknown, headers: Record<string, string> = V2024) =>
    l.call('POST', `/auth/v1/token?grant_type=${grant}`, { json: body, headers })
  const signIn = async () => {
    const res = await token('password', { email: 'demo@example.com', password: 'password' })
    expect(res.status).toBe(200)
    return res.body as { access_token: string; refresh_token: string; expires_in: number; expires_at: number }
  }
  const refresh = (refreshToken: string) => token('refresh_token', { refresh_token: refreshToken })
  return { ...l, token, signIn, refresh }
}

describe('the supabase profile', () => {
  it("answers a password sign-in with GoTrue's session: bearer, expires_in and expires_at, the user", async () => {
    const { token } = supabase({ accessTtl: '1h' })
    const res = await token('password', { email: 'demo@example.com', password: 'password' }, { apikey: 'anything' })
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_at', 'expires_in', 'refresh_token', 'token_type', 'user'])
    expect(res.body).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    expect(res.body.expires_at).toBe(decode(res.body.access_token).exp)
    expect(res.body.user).toMatchObject({ id: 'usr_1', email: 'demo@example.com', aud: 'authenticated', role: 'authenticated' })
    expect(res.body.user.app_metadata).toEqual({ provider: 'email', providers: ['email'] })
  })

  it('rotates on grant_type=refresh_token, counted as every refresh is', async () => {
    const { signIn, refresh, call } = supabase()
    const first = await signIn()
    const next = await refresh(first.refresh_token)
    expect(next.status).toBe(200)
    expect(next.body.refresh_token).not.toBe(first.refresh_token)
    expect(next.body.user.email).toBe('demo@example.com')
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats.refresh).toMatchObject({ calls: 1, succeeded: 1 })
    expect(stats.requests['POST /auth/v1/token']).toEqual({ '200': 2 })
  })

  it("puts GoTrue's error in the 2024-01-01 shape when asked for it, else the initial one, with x-sb-error-code", async () => {
    const { token } = supabase()
    const wrong = { email: 'demo@example.com', password: 'nope' }
    const current = await token('password', wrong)
    expect(current).toMatchObject({ status: 400, body: { code: 'invalid_credentials', message: 'Invalid login credentials' } })
    expect(current.headers.get('x-supabase-api-version')).toBe('2024-01-01')
    expect(current.headers.get('x-sb-error-code')).toBe('invalid_credentials')
    const initial = await token('password', wrong, {})
    expect(initial).toMatchObject({ status: 400, body: { code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' } })
    expect(initial.headers.get('x-supabase-api-version')).toBeNull()
  })

  it('without a grace, a replayed token is refresh_token_already_used and ends the session', async () => {
    const { signIn, refresh } = supabase()
    const first = await signIn()
    const next = (await refresh(first.refresh_token)).body
    expect(await refresh(first.refresh_token)).toMatchObject({
      status: 400,
      body: { code: 'refresh_token_already_used', message: 'Invalid Refresh Token: Already Used' },
    })
    // The session is gone, as GoTrue has deleted it: its newest token is not found.
    expect(await refresh(next.refresh_token)).toMatchObject({ status: 400, body: { code: 'refresh_token_not_found' } })
  })

  it("with --grace-returns parent, forgives the newest token's parent with the newest, and revokes for an older one", async () => {
    const { signIn, refresh, call } = supabase({ reuseGrace: '10s', graceReturns: 'parent' })
    const rt0 = (await signIn()).refresh_token
    const rt1 = (await refresh(rt0)).body.refresh_token as string
    const again = await refresh(rt0)
    expect(again.status).toBe(200)
    expect(again.body.refresh_token).toBe(rt1)
    const rt2 = (await refresh(rt1)).body.refresh_token as string
    expect((await refresh(rt1)).body.refresh_token).toBe(rt2)
    expect(await refresh(rt0)).toMatchObject({ status: 400, body: { code: 'refresh_token_already_used' } })
    expect(await refresh(rt2)).toMatchObject({ status: 400, body: { code: 'refresh_token_not_found' } })
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats).toMatchObject({ reuseDetected: 1, refresh: { graceReuses: 2, rejectedByCode: { REFRESH_TOKEN_REUSED: 1 } } })
  })

  it('answers GET /auth/v1/user with the user, 401 no_authorization without a token, 403 bad_jwt once expired', async () => {
    const { signIn, call, advance } = supabase({ accessTtl: '1m' })
    const { access_token } = await signIn()
    const user = await call('GET', '/auth/v1/user', { token: access_token })
    expect(user).toMatchObject({ status: 200, body: { id: 'usr_1', email: 'demo@example.com', aud: 'authenticated' } })
    expect(await call('GET', '/auth/v1/user', { headers: V2024 })).toMatchObject({ status: 401, body: { code: 'no_authorization' } })
    await advance('2m')
    const expired = await call('GET', '/auth/v1/user', { token: access_token, headers: V2024 })
    expect(expired).toMatchObject({ status: 403, body: { code: 'bad_jwt' } })
    expect(expired.body.message).toContain('token is expired')
  })

  it('signs out with 204: every session of the user by default, this one with scope=local, the others with scope=others', async () => {
    const { signIn, call } = supabase()
    const logout = (scope: string, token: string) => call('POST', `/auth/v1/logout${scope}`, { token, headers: V2024 })
    const statuses = async () => (await call('GET', '/_lab/sessions')).body.sessions.map((s: { status: string }) => s.status)
    const [a, b] = [await signIn(), await signIn(), await signIn()] as const
    expect(await logout('?scope=everyone', a.access_token)).toMatchObject({ status: 400, body: { code: 'validation_failed' } })
    expect((await logout('?scope=others', a.access_token)).status).toBe(204)
    expect(await statuses()).toEqual(['active', 'revoked', 'revoked'])
    expect((await logout('?scope=local', a.access_token)).status).toBe(204)
    expect(await statuses()).toEqual(['revoked', 'revoked', 'revoked'])
    // A signed-out session's access token names a session that no longer exists.
    const gone = await call('GET', '/auth/v1/user', { token: b.access_token, headers: V2024 })
    expect(gone).toMatchObject({ status: 403, body: { code: 'session_not_found' } })
    const d = await signIn()
    const e = await signIn()
    expect((await logout('', d.access_token)).status).toBe(204)
    expect((await call('GET', '/auth/v1/user', { token: e.access_token })).status).toBe(403)
  })

  it('signs up and in at once, and refuses a taken email and a weak password as GoTrue does', async () => {
    const { call } = supabase()
    const signup = (json: unknown): Promise<{ status: number; body: any }> =>
      call('POST', '/auth/v1/signup', { json, headers: V2024 } as CallOptions)
    const made = await signup({ email: 'ada@example.com', password: 'secret1', data: { name: 'Ada' } })
    expect(made).toMatchObject({
      status: 200,
      body: { token_type: 'bearer', user: { email: 'ada@example.com', user_metadata: { name: 'Ada' } } },
    })
    expect(await signup({ email: 'ada@example.com', password: 'secret1' })).toMatchObject({
      status: 422,
      body: { code: 'user_already_exists' },
    })
    expect(await signup({ email: 'bob@example.com', password: '12345' })).toMatchObject({ status: 422, body: { code: 'weak_password' } })
  })

  it("answers an injected fault in GoTrue's shape, and counts a faulted refresh as a refresh call", async () => {
    const { signIn, refresh, call } = supabase()
    const { refresh_token } = await signIn()
    const fault = { path: '/auth/v1/token', status: 400, code: 'refresh_token_not_found', times: 1 }
    expect((await call('POST', '/_lab/faults', { json: fault })).status).toBe(201)
    const faulted = await refresh(refresh_token)
    expect(faulted).toMatchObject({ status: 400, body: { code: 'refresh_token_not_found', message: expect.any(String) } })
    expect(faulted.headers.get('x-sb-error-code')).toBe('refresh_token_not_found')
    expect((await refresh(refresh_token)).status).toBe(200)
    expect((await call('GET', '/_lab/stats')).body.refresh).toMatchObject({ calls: 2, succeeded: 1, faulted: 1 })
  })

  it('lets a browser app on another origin call it with --cors: preflight with supabase-js headers, the API version exposed', async () => {
    const { call } = supabase({ cors: ['http://localhost:3000'] })
    const origin = 'http://localhost:3000'
    const preflight = await call('OPTIONS', '/auth/v1/token?grant_type=password', {
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'apikey,authorization,content-type,x-client-info,x-supabase-api-version',
      },
    })
    expect(preflight.status).toBe(204)
    const allowed = preflight.headers.get('access-control-allow-headers')?.split(',') ?? []
    expect(allowed).toEqual(expect.arrayContaining(['apikey', 'x-client-info', 'x-supabase-api-version']))
    const wrong = await call('POST', '/auth/v1/token?grant_type=password', {
      json: { email: 'demo@example.com', password: 'nope' },
      headers: { origin, ...V2024 },
    })
    expect(wrong.headers.get('access-control-allow-origin')).toBe(origin)
    expect(wrong.headers.get('access-control-expose-headers')).toBe('x-supabase-api-version')
  })

  it('is not served by the other profiles', async () => {
    const { call } = lab()
    expect((await call('POST', '/auth/v1/token?grant_type=password', { json: {} })).status).toBe(404)
  })
})
