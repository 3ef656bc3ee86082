import axios, { type AxiosInstance } from 'axios'
import { createAuthRefresh } from 'axios-auth-refresh'
import { startLab, type RunningLab } from 'refresh-lab'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

/**
 * axios with axios-auth-refresh, the interceptor many React Native apps use, against the simple
 * profile. `deduplicateRefresh: false` makes every 401 that lands while a refresh is running wait
 * for it; with the default (true) the library rejects those 401s without a retry, which the README
 * reports as a finding.
 */
describe('axios + axios-auth-refresh against the simple profile', () => {
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

  async function signedInClient(): Promise<AxiosInstance> {
    const login = await axios.post(`${lab.url}/api/auth/login`, { email: 'demo@example.com', password: 'password' })
    let tokens = { access: login.data.data.access_token as string, refresh: login.data.data.refresh_token as string }
    const api = axios.create({ baseURL: lab.url })
    api.interceptors.request.use((config) => {
      config.headers.Authorization = `Bearer ${tokens.access}`
      return config
    })
    createAuthRefresh(
      // The library's types see axios through its CommonJS entry; the instance is the same object.
      api as unknown as Parameters<typeof createAuthRefresh>[0],
      async () => {
        const res = await axios.post(`${lab.url}/api/auth/refresh`, { refresh_token: tokens.refresh })
        tokens = { access: res.data.data.access_token, refresh: res.data.data.refresh_token }
      },
      { deduplicateRefresh: false },
    )
    return api
  }

  it('makes one refresh for ten parallel 401s, seen by the server, and every request succeeds', async () => {
    const api = await signedInClient()
    // Hold /refresh briefly so every 401 lands while it is in flight, as in the `burst` scenario.
    await lab.fault({ path: '/api/auth/refresh', delay: '200ms', times: 10 })
    await lab.clock.advance('35s')
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.get('/api/users')))
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200))
    const stats = await lab.stats()
    expect(stats.refresh).toMatchObject({ calls: 1, succeeded: 1 })
    expect(stats.requests['GET /api/users']).toEqual({ '200': 10, '401': 10 })
    expect(stats.reuseDetected).toBe(0)
  })
})
