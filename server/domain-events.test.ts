import { describe, expect, it } from 'vitest'
import { lab } from '../test/support/app.js'
import { DomainEvents } from './domain-events.js'

describe('DomainEvents', () => {
  it('hands each event to every subscriber, in the order they subscribed, before emit returns', () => {
    const bus = new DomainEvents()
    const seen: string[] = []
    bus.subscribe((event) => seen.push(`counters ${event.type}`))
    bus.subscribe((event) => seen.push(`log ${event.type}`))
    bus.emit({ type: 'reset' })
    expect(seen).toEqual(['counters reset', 'log reset'])
  })
})

describe('a refresh, event by event, through the app', () => {
  const refreshEntries = async (call: ReturnType<typeof lab>['call']) =>
    ((await call('GET', '/_lab/events')).body.events as { type: string }[]).filter(
      (e) => e.type === 'refresh' || e.type === 'reuse_detected',
    )

  it('counts and logs a refresh once', async () => {
    const { login, refresh, call } = lab()
    const { refresh_token } = await login()
    expect((await refresh(refresh_token)).status).toBe(200)
    expect((await call('GET', '/_lab/stats')).body.refresh).toMatchObject({ calls: 1, succeeded: 1, rejected: 0 })
    expect(await refreshEntries(call)).toHaveLength(1)
  })

  it('counts a reuse once as a rejected call, once as a reuse and once as a revoked family, and logs it once', async () => {
    const { login, refresh, call } = lab()
    const { refresh_token } = await login()
    await refresh(refresh_token)
    expect((await refresh(refresh_token)).body.error.code).toBe('REFRESH_TOKEN_REUSED')
    expect((await call('GET', '/_lab/stats')).body).toMatchObject({
      refresh: { calls: 2, succeeded: 1, rejected: 1, rejectedByCode: { REFRESH_TOKEN_REUSED: 1 } },
      reuseDetected: 1,
      familiesRevoked: 1,
    })
    expect((await refreshEntries(call)).map((e) => e.type)).toEqual(['refresh', 'reuse_detected'])
  })

  it('counts a refresh without a readable token once, on either face, and logs no refresh for it', async () => {
    const { call } = lab()
    await call('POST', '/api/auth/refresh', { json: {} })
    await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token' } })
    expect((await call('GET', '/_lab/stats')).body.refresh).toMatchObject({
      calls: 2,
      rejected: 2,
      rejectedByCode: { VALIDATION_ERROR: 2 },
    })
    expect(await refreshEntries(call)).toEqual([])
  })

  it('leaves no trace of a request held across a reset: the epoch rule', async () => {
    const { call } = lab()
    const held = call('POST', '/api/auth/login?_delay=200ms', { json: { email: 'demo@example.com', password: 'password' } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await call('POST', '/_lab/reset')
    expect((await held).status).toBe(503)
    expect((await call('GET', '/_lab/stats')).body).toMatchObject({ logins: 0, requests: {} })
    const types = ((await call('GET', '/_lab/events')).body.events as { type: string }[]).map((e) => e.type)
    expect(types).toEqual(['reset'])
  })
})
