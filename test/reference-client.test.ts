import { describe, expect, it } from 'vitest'
import { ApiError } from '../src/client/contract.js'
import { createClient } from '../src/client/reference.js'
import { useLab } from './support/lab.js'

const lab = useLab()

/** A fetch that holds back the response of the calls `hold` picks until `release()`. */
function holdingFetch(hold: (url: string, n: number) => boolean) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let n = 0
  const held: typeof fetch = async (input, init) => {
    n += 1
    const holdThis = hold(String(input), n)
    const response = await fetch(input, init)
    if (holdThis) await gate
    return response
  }
  return { fetch: held, release: () => release() }
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ApiError)
  return error as ApiError
}

describe('reference client', () => {
  it('sends one refresh for ten parallel 401s and every request succeeds', async () => {
    const { storage } = await lab.signIn()
    const ctx = lab.context(storage)
    const client = createClient(ctx)
    await lab.expireAccessToken()
    const results = await Promise.all(Array.from({ length: 10 }, () => client.request<{ data: unknown[] }>('GET', '/api/users')))
    expect(results.every((r) => Array.isArray(r.data))).toBe(true)
    expect(ctx.refreshCalls()).toBe(1)
    expect((await lab.stats()).refresh).toMatchObject({ calls: 1, succeeded: 1, rejected: 0 })
  })

  it('saves both rotated tokens, so the next expiry refreshes with the new refresh token', async () => {
    const { storage, tokens } = await lab.signIn()
    const client = createClient(lab.context(storage))
    await lab.expireAccessToken()
    await client.request('GET', '/api/users')
    expect(storage.current.refreshToken).not.toBe(tokens.refresh_token)
    expect(storage.current.accessToken).not.toBe(tokens.access_token)
    await lab.expireAccessToken()
    await client.request('GET', '/api/auth/me')
    const stats = await lab.stats()
    expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 2 })
    expect(stats.reuseDetected).toBe(0)
  })

  it('retries a late 401 with the stored token instead of refreshing again', async () => {
    const { storage } = await lab.signIn()
    // The first request's 401 is held back until the second request has refreshed and retried.
    const held = holdingFetch((url, n) => n === 1 && url.endsWith('/api/users'))
    const ctx = lab.context(storage, held.fetch)
    const client = createClient(ctx)
    await lab.expireAccessToken()
    const late = client.request('GET', '/api/users')
    await client.request('GET', '/api/auth/me')
    held.release()
    await expect(late).resolves.toMatchObject({ data: expect.any(Array) })
    expect(ctx.refreshCalls()).toBe(1)
    expect((await lab.stats()).reuseDetected).toBe(0)
  })

  it('reads storage again when a refresh finished while a slow storage read was under way', async () => {
    const { storage: fast } = await lab.signIn()
    // A storage read that starts before another request's refresh saves, and answers after it.
    let slowNext = false
    const storage = {
      ...fast,
      load: async () => {
        const snapshot = await fast.load()
        if (slowNext) {
          slowNext = false
          await new Promise((resolve) => setTimeout(resolve, 300))
        }
        return snapshot
      },
    }
    let armed = false
    const arming: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (!armed && String(input).endsWith('/api/users') && response.status === 401) {
        armed = true
        slowNext = true // the read after this 401 takes 300 ms
      }
      return response
    }
    const ctx = lab.context(storage, arming)
    const client = createClient(ctx)
    await lab.expireAccessToken()
    // /api/users gets its 401 first and reads storage slowly; /api/auth/me gets its 401 50 ms later,
    // reads at once, refreshes and saves long before the slow read answers with the old token.
    await Promise.all([client.request('GET', '/api/users'), client.request('GET', '/api/auth/me?_delay=50ms')])
    expect(ctx.refreshCalls()).toBe(1)
  })

  it('retries a late 401 with the token another tab saved to shared storage', async () => {
    const { storage } = await lab.signIn()
    const held = holdingFetch((url, n) => n === 1 && url.endsWith('/api/users'))
    const tabA = lab.context(storage, held.fetch)
    const tabB = lab.context(storage)
    await lab.expireAccessToken()
    const late = createClient(tabA).request('GET', '/api/users')
    await createClient(tabB).request('GET', '/api/users')
    held.release()
    await expect(late).resolves.toBeDefined()
    expect(tabA.refreshCalls() + tabB.refreshCalls()).toBe(1)
  })

  it('keeps the tokens and does not sign out when the refresh gets no answer', async () => {
    const { storage, tokens } = await lab.signIn()
    let dropNextRefresh = true
    const flaky: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/api/auth/refresh') && dropNextRefresh) {
        dropNextRefresh = false
        throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })
      }
      return fetch(input, init)
    }
    const ctx = lab.context(storage, flaky)
    const client = createClient(ctx)
    await lab.expireAccessToken()
    const error = await rejection(client.request('GET', '/api/users'))
    expect(error).toMatchObject({ status: 0, code: 'NETWORK_ERROR' })
    expect(storage.current).toEqual({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token })
    expect(ctx.logouts()).toBe(0)
    // The next try refreshes once and succeeds.
    await expect(client.request('GET', '/api/users')).resolves.toBeDefined()
    expect((await lab.stats()).refresh).toMatchObject({ calls: 1, succeeded: 1 })
  })

  it('clears the tokens and calls onLogout once when /refresh answers 401, with no loop', async () => {
    const { storage, tokens } = await lab.signIn()
    await fetch(`${lab.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } })
    const ctx = lab.context(storage)
    const client = createClient(ctx)
    await lab.expireAccessToken()
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(client.request('GET', '/api/users'))))
    // Requests that waited on the refused refresh share its error; a 401 that lands after the
    // sign-out finds no tokens and says so.
    const codes = errors.map((e) => e.code)
    expect(codes).toContain('REFRESH_TOKEN_REVOKED')
    expect(codes.every((code) => code === 'REFRESH_TOKEN_REVOKED' || code === 'NOT_SIGNED_IN')).toBe(true)
    expect(ctx.refreshCalls()).toBe(1)
    expect(ctx.logouts()).toBe(1)
    expect(storage.current).toEqual({ accessToken: null, refreshToken: null })
    // Signed out now: a later request fails at once, without another refresh or logout.
    expect((await rejection(client.request('GET', '/api/users'))).code).toBe('NOT_SIGNED_IN')
    expect(ctx.refreshCalls()).toBe(1)
    expect(ctx.logouts()).toBe(1)
  })

  it('calls onLogout once even when a held-back 401 arrives after the sign-out', async () => {
    const { storage, tokens } = await lab.signIn()
    await fetch(`${lab.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } })
    const held = holdingFetch((url, n) => n === 1 && url.endsWith('/api/users'))
    const ctx = lab.context(storage, held.fetch)
    const client = createClient(ctx)
    const late = rejection(client.request('GET', '/api/users'))
    expect((await rejection(client.request('GET', '/api/auth/me'))).code).toBe('REFRESH_TOKEN_REVOKED')
    held.release()
    expect((await late).code).toBe('NOT_SIGNED_IN')
    expect(ctx.logouts()).toBe(1)
    expect(ctx.refreshCalls()).toBe(1)
  })

  it('keeps working when another client sharing its storage refreshed last', async () => {
    const { storage } = await lab.signIn()
    const tabA = createClient(lab.context(storage))
    const tabB = createClient(lab.context(storage))
    await lab.expireAccessToken()
    await tabA.request('GET', '/api/users') // A refreshes
    await lab.expireAccessToken()
    await tabB.request('GET', '/api/users') // then B refreshes
    await lab.expireAccessToken()
    await expect(tabA.request('GET', '/api/users')).resolves.toBeDefined() // A must refresh again, not reuse its old token
    const stats = await lab.stats()
    expect(stats.refresh).toMatchObject({ calls: 3, succeeded: 3 })
    expect(stats.reuseDetected).toBe(0)
  })

  it('retries a POST once with the same method and an intact body', async () => {
    const { storage } = await lab.signIn()
    const client = createClient(lab.context(storage))
    await lab.expireAccessToken()
    const note = { title: 'groceries', items: ['milk', 'eggs'], nested: { done: false, n: 3 } }
    const answer = await client.request<{ data: { received: unknown } }>('POST', '/api/echo', note)
    expect(answer.data.received).toEqual(note)
    expect((await lab.stats()).requests['POST /api/echo']).toEqual({ '200': 1, '401': 1 })
  })

  it('passes a non-401 error through with its status and code, without refreshing', async () => {
    const { storage } = await lab.signIn()
    const ctx = lab.context(storage)
    const error = await rejection(createClient(ctx).request('GET', '/api/nothing-here'))
    expect(error).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' })
    expect(ctx.refreshCalls()).toBe(0)
  })
})
