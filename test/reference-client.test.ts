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
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('REFRESH_TOKEN_REVOKED'))
    expect(ctx.refreshCalls()).toBe(1)
    expect(ctx.logouts()).toBe(1)
    expect(storage.current).toEqual({ accessToken: null, refreshToken: null })
    // Signed out now: a later request fails at once, without another refresh or logout.
    expect((await rejection(client.request('GET', '/api/users'))).code).toBe('NOT_SIGNED_IN')
    expect(ctx.refreshCalls()).toBe(1)
    expect(ctx.logouts()).toBe(1)
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
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect(ctx.refreshCalls()).toBe(0)
  })
})
