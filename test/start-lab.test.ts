// Imports the package by its name, as a user's own test suite would.
import { startLab, type RunningLab } from 'refresh-lab'
import { createReferenceClient, type StoredTokens } from 'refresh-lab/client'
import { runBurst } from 'refresh-lab/harness'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let lab: RunningLab

beforeAll(async () => {
  lab = await startLab({ accessTtl: '30s' })
})
afterAll(async () => {
  await lab.stop()
})
beforeEach(async () => {
  await lab.reset()
})

/** The storage an app would pass: here, a variable. */
function memoryStorage() {
  let tokens: StoredTokens = { accessToken: null, refreshToken: null }
  return {
    load: async () => tokens,
    save: async (next: { accessToken: string; refreshToken: string }) => {
      tokens = next
    },
    clear: async () => {
      tokens = { accessToken: null, refreshToken: null }
    },
  }
}

describe('startLab in a user test suite', () => {
  it('serves on a loopback URL and drives the reference client through an expiry without sleeping', async () => {
    expect(lab.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const storage = memoryStorage()
    const login = await fetch(`${lab.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
    })
    const { data } = (await login.json()) as { data: { access_token: string; refresh_token: string } }
    await storage.save({ accessToken: data.access_token, refreshToken: data.refresh_token })
    const api = createReferenceClient({ baseUrl: lab.url, fetch, storage, onLogout: () => undefined })

    await lab.clock.advance('35s')
    const results = await Promise.all(Array.from({ length: 5 }, () => api.request('GET', '/api/users')))
    expect(results).toHaveLength(5)
    expect((await lab.stats()).refresh).toMatchObject({ calls: 1, succeeded: 1 })
  })

  it('injects a fault, expires tokens and revokes sessions through its handle', async () => {
    // Enough faults for every refresh: a 401 that lands after a failed refresh starts its own (the
    // reference client does not replay a failure to a request that did not wait for it).
    await lab.fault({ path: '/api/auth/refresh', status: 503, times: 3 })
    const report = await runBurst({ url: lab.url, createClient: createReferenceClient, clientName: 'reference', parallel: 3 })
    expect(report.requests.failures).toEqual({ LAB_FAULT: 3 })
    const stats = await lab.stats()
    expect(stats.faults.status).toBeGreaterThanOrEqual(1)
    expect(stats.faults.status).toBe(stats.refresh.calls)
    expect(await lab.revoke()).toBe(1)
    expect((await lab.sessions())[0]?.status).toBe('revoked')
    await lab.expire({ tokens: 'both' })
    const { events } = await lab.events()
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['fault', 'revoke', 'expire']))
  })

  it('runs a burst from the harness against it', async () => {
    const report = await runBurst({ url: lab.url, createClient: createReferenceClient, clientName: 'reference', parallel: 10 })
    expect(report.verdict).toBe('pass')
  })
})
