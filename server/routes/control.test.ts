import { describe, expect, it } from 'vitest'
import { lab } from '../../test/support/app.js'

describe('POST /_lab/faults', () => {
  it('answers the next N calls of a route with the given status and envelope, then lets calls through', async () => {
    const { call, login, refresh } = lab()
    const { refresh_token } = await login()
    const set = await call('POST', '/_lab/faults', {
      json: { path: '/api/auth/refresh', status: 503, code: 'MAINTENANCE', message: 'back soon', times: 1 },
    })
    expect(set.status).toBe(201)
    expect(set.body.fault).toMatchObject({ path: '/api/auth/refresh', status: 503, remaining: 1 })
    expect(await refresh(refresh_token)).toMatchObject({ status: 503, body: { error: { code: 'MAINTENANCE', message: 'back soon' } } })
    expect((await refresh(refresh_token)).status).toBe(200)
    const stats = (await call('GET', '/_lab/stats')).body
    expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 1, faulted: 1 })
    expect(stats.faults).toEqual({ injected: 1, delay: 0, status: 1, drop: 0 })
    const events = (await call('GET', '/_lab/events')).body.events as { type: string; detail?: string }[]
    expect(events.filter((e) => e.type === 'fault').map((e) => e.detail)).toEqual([
      'set: /api/auth/refresh, answer 503 MAINTENANCE, 1 more call after this',
      '/api/auth/refresh, answer 503 MAINTENANCE, 0 more calls after this',
    ])
  })

  it('delays a call and then runs the route', async () => {
    const { call, login } = lab()
    const { access_token } = await login()
    await call('POST', '/_lab/faults', { json: { path: '/api/users', method: 'get', delay: '20ms' } })
    expect((await call('GET', '/api/users', { token: access_token })).status).toBe(200)
    expect((await call('GET', '/_lab/stats')).body.faults).toMatchObject({ injected: 1, delay: 1 })
  })

  it('lists and clears the faults set', async () => {
    const { call } = lab()
    await call('POST', '/_lab/faults', { json: { path: '/api/users', drop: true, times: 3 } })
    expect((await call('GET', '/_lab/faults')).body.faults).toHaveLength(1)
    expect((await call('DELETE', '/_lab/faults')).body).toEqual({ cleared: 1 })
    expect((await call('GET', '/_lab/faults')).body.faults).toEqual([])
  })

  it.each([
    [{}, '"path" is required'],
    [{ path: 'api/users', drop: true }, 'must start with "/"'],
    [{ path: '/_lab/stats', drop: true }, 'lab control API itself'],
    [{ path: '/api/users' }, 'needs "delay", "status", "drop": true or "dropAfter": true'],
    [{ path: '/api/users', drop: true, status: 503 }, 'not both'],
    [{ path: '/api/users', dropAfter: true, status: 503 }, 'not both'],
    [{ path: '/api/users', drop: true, dropAfter: true }, 'before the route runs ("drop") or after it ("dropAfter"), not both'],
    [{ path: '/api/users', dropAfter: 1 }, '"dropAfter" must be true or false'],
    [{ path: '/api/users', status: 200 }, '"status" must be a whole number from 400 to 599'],
    [{ path: '/api/users', delay: '2m' }, '"delay" must be at most 1m'],
    [{ path: '/api/users', drop: 'yes' }, '"drop" must be true or false'],
    [{ path: '/api/users', drop: true, times: 0 }, '"times" must be a whole number'],
    [{ path: '/api/users', code: 'X', drop: true }, '"code" and "message" go with "status"'],
    [{ path: '/api/users', drop: true, when: 'now' }, 'unknown field "when"'],
  ])('refuses %j as VALIDATION_ERROR', async (json, message) => {
    const res = await lab().call('POST', '/_lab/faults', { json })
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_ERROR')
    expect(res.body.error.message).toContain(message)
  })
})

describe('POST /_lab/config', () => {
  it('changes expiries and the reuse grace live, and reset restores the startup settings', async () => {
    const { call, login, refresh } = lab()
    const changed = await call('POST', '/_lab/config', { json: { accessTtl: '30s', reuseGrace: '5s' } })
    expect(changed.body).toMatchObject({ accessTtlMs: 30_000, reuseGraceMs: 5_000, refreshTtlMs: 604_800_000 })
    const tokens = await login()
    expect(tokens.expires_in).toBe(30)
    await refresh(tokens.refresh_token)
    expect((await refresh(tokens.refresh_token)).status).toBe(200) // inside the new grace
    await call('POST', '/_lab/reset')
    expect((await call('GET', '/_lab/config')).body).toMatchObject({ accessTtlMs: 900_000, reuseGraceMs: 0 })
  })

  it.each([
    [{ accessTtl: '0s' }, '"accessTtl" must be at least 1ms'],
    [{ reuseGrace: 'soon' }, 'invalid duration "soon"'],
    [{ accessTTL: '30s' }, 'unknown field "accessTTL"'],
    [{ refreshTtl: 3600 }, 'a duration string'],
  ])('refuses %j', async (json, message) => {
    const res = await lab().call('POST', '/_lab/config', { json })
    expect(res.status).toBe(422)
    expect(res.body.error.message).toContain(message)
  })
})

describe('POST /_lab/revoke', () => {
  it("revokes one user's sessions, leaving the others", async () => {
    const { call, login, refresh } = lab({ users: ['a@x.io:pa', 'b@x.io:pb'] })
    const a = await login('a@x.io', 'pa')
    const b = await login('b@x.io', 'pb')
    expect((await call('POST', '/_lab/revoke', { json: { user: 'a@x.io' } })).body).toEqual({ revoked: 1 })
    expect((await refresh(a.refresh_token)).body.error.code).toBe('REFRESH_TOKEN_REVOKED')
    expect((await call('GET', '/api/users', { token: a.access_token })).body.error.code).toBe('TOKEN_REVOKED')
    expect((await refresh(b.refresh_token)).status).toBe(200)
    expect((await call('GET', '/_lab/stats')).body.familiesRevoked).toBe(1)
  })

  it('revokes one family, or every session with an empty body', async () => {
    const { call, login, refresh } = lab()
    const first = await login()
    const second = await login()
    const sid = JSON.parse(Buffer.from(first.access_token.split('.')[1] ?? '', 'base64url').toString()).sid as string
    expect((await call('POST', '/_lab/revoke', { json: { family: sid } })).body).toEqual({ revoked: 1 })
    expect((await refresh(second.refresh_token)).status).toBe(200)
    expect((await call('POST', '/_lab/revoke')).body).toEqual({ revoked: 1 })
    const unknown = await call('POST', '/_lab/revoke', { json: { user: 'nobody@x.io' } })
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no user nobody@x.io' } } })
    expect((await call('POST', '/_lab/expire', { json: { family: 'fam_nope' } })).status).toBe(404)
    expect((await call('GET', '/_lab/stats')).body.lab).toEqual({ clockMoves: 0, expiries: 0, revocations: 2, configChanges: 0 })
  })

  it('refuses both a user and a family', async () => {
    const res = await lab().call('POST', '/_lab/revoke', { json: { user: 'a', family: 'b' } })
    expect(res.status).toBe(422)
  })
})

describe('POST /_lab/expire', () => {
  it('expires every access token issued so far, but not the ones issued after', async () => {
    const { call, login, refresh } = lab()
    const tokens = await login()
    expect((await call('POST', '/_lab/expire')).body).toMatchObject({ tokens: 'access', sessions: 1 })
    expect((await call('GET', '/api/users', { token: tokens.access_token })).body.error.code).toBe('TOKEN_EXPIRED')
    const next = (await refresh(tokens.refresh_token)).body.data
    expect((await call('GET', '/api/users', { token: next.access_token })).status).toBe(200)
  })

  it("expires only the named user's access tokens", async () => {
    const { call, login } = lab({ users: ['a@x.io:pa', 'b@x.io:pb'] })
    const a = await login('a@x.io', 'pa')
    const b = await login('b@x.io', 'pb')
    await call('POST', '/_lab/expire', { json: { user: 'b@x.io' } })
    expect((await call('GET', '/api/users', { token: a.access_token })).status).toBe(200)
    expect((await call('GET', '/api/users', { token: b.access_token })).body.error.code).toBe('TOKEN_EXPIRED')
  })

  it('expires refresh tokens now, so the next refresh is REFRESH_TOKEN_EXPIRED', async () => {
    const { call, login, refresh } = lab()
    const tokens = await login()
    expect((await call('POST', '/_lab/expire', { json: { tokens: 'refresh' } })).body).toMatchObject({ refreshTokens: 1 })
    expect((await call('GET', '/api/users', { token: tokens.access_token })).status).toBe(200)
    expect((await refresh(tokens.refresh_token)).body.error.code).toBe('REFRESH_TOKEN_EXPIRED')
  })

  it('refuses an unknown token kind', async () => {
    const res = await lab().call('POST', '/_lab/expire', { json: { tokens: 'id' } })
    expect(res.status).toBe(422)
    expect(res.body.error.message).toContain('"tokens" must be one of "access", "refresh", "both"')
  })
})

describe('per-request delay', () => {
  it('holds a request that asks for it with ?_delay and refuses a bad value', async () => {
    const { call, login } = lab()
    const { access_token } = await login()
    expect((await call('GET', '/api/users?_delay=10ms', { token: access_token })).status).toBe(200)
    const bad = await call('GET', '/api/users?_delay=forever', { token: access_token })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain('query "_delay"')
    expect((await call('GET', '/api/users?_delay=31s', { token: access_token })).status).toBe(400)
  })

  it('with ?_wait=refresh holds a request bound for a 401 until a refresh is answered, whenever that is', async () => {
    const { call, login, refresh } = lab()
    const { access_token, refresh_token } = await login()
    await call('POST', '/_lab/expire', { json: { tokens: 'access' } })
    const order: string[] = []
    const held = call('GET', '/api/users?_wait=refresh&_delay=1ms', { token: access_token }).then((answer) => {
      order.push('held answered')
      return answer
    })
    // Many turns of the event loop and whole request/answer passes: the held one still waits.
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/users', { token: access_token })).status).toBe(401)
    order.push('refresh sent')
    const refreshed = await refresh(refresh_token)
    expect(refreshed.status).toBe(200)
    expect((await held).status).toBe(401)
    expect(order).toEqual(['refresh sent', 'held answered'])
    // Its retry with the new token is let through: only a request bound for a 401 waits.
    const fresh = refreshed.body.data?.access_token ?? refreshed.body.access_token
    expect((await call('GET', '/api/users?_wait=refresh', { token: fresh })).status).toBe(200)
  })

  it('with ?_wait=refresh does not hold a request whose session refreshed before it arrived', async () => {
    const { call, login, refresh } = lab()
    const { access_token, refresh_token } = await login()
    await call('POST', '/_lab/expire', { json: { tokens: 'access' } })
    expect((await call('GET', '/api/users', { token: access_token })).status).toBe(401)
    expect((await refresh(refresh_token)).status).toBe(200)
    let answered = false
    const late = call('GET', '/api/users?_wait=refresh', { token: access_token }).then((answer) => {
      answered = true
      return answer
    })
    // Held for a next refresh that never comes, it would still be waiting after these passes.
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/users', { token: access_token })).status).toBe(401)
    expect(answered).toBe(true)
    expect((await late).body.error.code).toBe('TOKEN_EXPIRED')
  })

  it('a reset ends a ?_wait=refresh hold and the request counts nowhere; a bad _wait is refused', async () => {
    const { call, login } = lab()
    const { access_token } = await login()
    await call('POST', '/_lab/expire', { json: { tokens: 'access' } })
    const held = call('GET', '/api/users?_wait=refresh', { token: access_token })
    await call('GET', '/api/users', { token: access_token })
    await call('POST', '/_lab/reset')
    await held
    expect((await call('GET', '/_lab/stats')).body.requests).toEqual({})
    const bad = await call('GET', '/api/users?_wait=later', { token: access_token })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toBe('query "_wait" must be "refresh"')
  })
})

describe('GET /_lab/sessions', () => {
  it('lists each session with its generation and, once revoked, why', async () => {
    const { call, login, refresh } = lab()
    const first = await login()
    await refresh(first.refresh_token)
    await refresh(first.refresh_token) // reuse: revokes the session
    const [session] = (await call('GET', '/_lab/sessions')).body.sessions
    expect(session).toMatchObject({ user: 'demo@example.com', status: 'revoked', generation: 2, revokedReason: 'reuse' })
    expect((await call('GET', `/_lab/sessions?family=${session.id}`)).body.sessions).toHaveLength(1)
    expect((await call('GET', '/_lab/sessions?family=fam_unknown')).body.sessions).toEqual([])
  })
})
