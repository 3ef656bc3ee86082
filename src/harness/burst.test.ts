import { describe, expect, it } from 'vitest'
import { SETTINGS } from '../shared/settings.js'
import { burstScenario, MAX_CONNECTIONS } from './burst.js'

const base = { url: 'http://127.0.0.1:1', method: 'GET', path: '/api/users' }

describe('the scenario a burst runs', () => {
  it('is one tab firing every request at once after an expiry by the clock, on the server as started', () => {
    const scenario = burstScenario({
      ...base,
      parallel: 10,
      method: 'POST',
      path: '/api/echo',
      email: 'a@b.c',
      password: 'x:y',
      timeoutMs: 2500,
    })
    expect(scenario).toMatchObject({ tabs: 1, serverAsStarted: true, timeout: '2500ms' })
    expect(scenario.steps).toEqual([
      { do: 'signIn', user: 'a@b.c:x:y' },
      { do: 'expireByClock' },
      { do: 'parallel', count: 10, request: { method: 'POST', path: '/api/echo' } },
    ])
  })

  it("fits its pool, and the lab API's two connections, under the server's default --max-connections", () => {
    // The embedded server starts with the defaults: a burst it refused would be the harness's own doing.
    expect(MAX_CONNECTIONS + 2).toBeLessThanOrEqual(SETTINGS.maxConnections.default)
  })

  it('carries a pool as large as the burst, up to 128 connections', () => {
    expect(burstScenario({ ...base, parallel: 10 }).connections).toBe(10)
    expect(burstScenario({ ...base, parallel: 128 }).connections).toBe(128)
    expect(burstScenario({ ...base, parallel: 10_000 }).connections).toBe(128)
  })

  it('expects one refresh, no reuse, every request to succeed and the client still signed in, with no time check', () => {
    expect(burstScenario({ ...base, parallel: 3 }).expect).toEqual({
      refreshes: 1,
      noReuse: true,
      requests: 'all-succeeded',
      signedOut: false,
      finishedInTime: false,
    })
  })

  it('takes --expect-refreshes and --allow-reuse', () => {
    const { expect: expectations } = burstScenario({ ...base, parallel: 3, expectRefreshes: 3, allowReuse: true })
    expect(expectations.refreshes).toBe(3)
    expect(expectations).not.toHaveProperty('noReuse')
  })
})
