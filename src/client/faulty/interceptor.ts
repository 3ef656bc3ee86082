import { tokensFromAnswer } from '../../shared/profiles.js'
import { ApiError, type Client, type ClientContext } from '../contract.js'

/**
 * One bug each, as seen in the wild. Every faulty client is the same refresh-on-401 interceptor
 * with exactly one of these switched on, so a scenario that fails it can only be failing that bug.
 */
export type RefreshBug =
  /** No single-flight lock: every request that gets a 401 refreshes on its own. */
  | 'no-lock'
  /** Reads the refresh token when the request starts; a late 401 spends that, already rotated, token. */
  | 'stale-capture'
  /** Saves the new access token but keeps the old refresh token, so the next refresh is a reuse. */
  | 'access-only'
  /** Treats a network error during refresh like a refused refresh: clears the tokens, signs out. */
  | 'logout-on-any-error'
  /** Retries a request without its body. */
  | 'body-lost'
  /** Sends the refresh call through the same 401 handler, which then waits on itself. */
  | 'self-intercept'

const REFRESH_PATH = '/api/auth/refresh'

export function createFaultyClient(ctx: ClientContext, bug: RefreshBug): Client {
  let refreshing: Promise<string> | null = null

  async function send(method: string, path: string, body: unknown, accessToken: string | null): Promise<Response> {
    const headers: Record<string, string> = {}
    if (accessToken !== null) headers['authorization'] = `Bearer ${accessToken}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await ctx.fetch(`${ctx.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', `${method} ${path} got no answer`, { cause })
    }
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const captured = await ctx.storage.load()
    if (captured.accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'no access token stored')
    const first = await send(method, path, body, captured.accessToken)
    if (first.status !== 401) return answer<T>(first)
    await first.arrayBuffer().catch(() => undefined)
    const token = await tokenAfter401(captured.accessToken, captured.refreshToken)
    return answer<T>(await send(method, path, bug === 'body-lost' ? undefined : body, token))
  }

  async function tokenAfter401(rejected: string, capturedRefresh: string | null): Promise<string> {
    if (bug === 'no-lock') return refreshTokens(null)
    if (refreshing) return refreshing
    if (bug !== 'stale-capture') {
      const stored = await ctx.storage.load()
      if (refreshing) return refreshing
      if (stored.accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'signed out meanwhile')
      if (stored.accessToken !== rejected) return stored.accessToken
    }
    refreshing = refreshTokens(bug === 'stale-capture' ? capturedRefresh : null).finally(() => {
      refreshing = null
    })
    return refreshing
  }

  async function refreshTokens(capturedRefresh: string | null): Promise<string> {
    const { refreshToken } = capturedRefresh === null ? await ctx.storage.load() : { refreshToken: capturedRefresh }
    const payload = { refresh_token: refreshToken }
    // self-intercept: the refresh goes through request(), whose 401 handler waits on this very refresh.
    const answer = bug === 'self-intercept' ? await request<unknown>('POST', REFRESH_PATH, payload) : await postRefresh(payload)
    const tokens = tokensFromAnswer(answer)
    if (!tokens) throw new ApiError(200, 'BAD_REFRESH_RESPONSE', 'the refresh answer has no tokens')
    const newRefresh = bug === 'access-only' && refreshToken !== null ? refreshToken : tokens.refreshToken
    await ctx.storage.save({ accessToken: tokens.accessToken, refreshToken: newRefresh })
    return tokens.accessToken
  }

  async function postRefresh(payload: { refresh_token: string | null }): Promise<unknown> {
    let response: Response
    try {
      response = await ctx.fetch(`${ctx.baseUrl}${REFRESH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      })
    } catch (cause) {
      if (bug === 'logout-on-any-error') await signOut()
      throw new ApiError(0, 'NETWORK_ERROR', 'the refresh request got no answer', { cause })
    }
    const body: unknown = await response.json().catch(() => null)
    if (response.status === 401) {
      await signOut()
      throw ApiError.fromResponse(401, body)
    }
    if (!response.ok) throw ApiError.fromResponse(response.status, body)
    return body
  }

  async function signOut(): Promise<void> {
    await ctx.storage.clear()
    ctx.onLogout()
  }

  return { request }
}

async function answer<T>(response: Response): Promise<T> {
  const body: unknown = await response.json().catch(() => null)
  if (!response.ok) throw ApiError.fromResponse(response.status, body)
  return body as T
}
