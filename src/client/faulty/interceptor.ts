import { tokensFromAnswer } from '../../shared/profiles.js'
import { ApiError, type Client, type ClientContext } from '../contract.js'
import { answer, parseJson } from '../reference.js'

/**
 * One bug each, as seen in the wild. Every faulty client is the reference client's logic (see
 * reference.ts, which stays free of switches because people copy it) with exactly one of these
 * switched on, so a scenario that fails it can only be failing that bug.
 */
export type RefreshBug =
  /**
   * No single-flight lock and no late-401 check: every request that gets a 401 refreshes on its own
   * with the tokens it read when it started, as the lesson's first interceptor does.
   */
  | 'no-lock'
  /** Spends the refresh token read when the request started, and ignores a newer stored access token. */
  | 'stale-capture'
  /** Saves the new access token but keeps the old refresh token, so the next refresh is a reuse. */
  | 'access-only'
  /** Treats a network error during refresh like a refused refresh: clears the tokens, signs out. */
  | 'logout-on-any-error'
  /** Retries a request without its body. */
  | 'body-lost'
  /** Sends the refresh call through its own 401 handler, which then waits on that very refresh. */
  | 'self-intercept'
  /** Refreshes and retries again whenever the retry gets a 401 too, without end. */
  | 'retry-forever'
  /** Starts saving the rotated tokens but does not wait for the save before retrying. */
  | 'unawaited-save'
  /** Treats a 5xx from `/refresh` like a refused refresh: clears the tokens, signs out. */
  | 'logout-on-5xx'

const REFRESH_PATH = '/api/auth/refresh'

export function createFaultyClient(ctx: ClientContext, bug: RefreshBug): Client {
  let refreshing: Promise<string> | null = null
  let refreshesFinished = 0

  async function send(method: string, path: string, body: unknown, accessToken: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await ctx.fetch(`${ctx.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', `${method} ${path} got no answer`, { cause })
    }
  }

  async function freshAccessToken(rejected: string, capturedRefresh: string | null): Promise<string> {
    if (bug === 'no-lock') return refreshTokens(capturedRefresh)
    for (;;) {
      if (refreshing) return refreshing
      const finishedBefore = refreshesFinished
      const { accessToken: stored } = await ctx.storage.load()
      if (refreshing) return refreshing
      if (refreshesFinished !== finishedBefore) continue
      if (stored === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'signed out meanwhile; sign in again')
      if (stored !== rejected && bug !== 'stale-capture') return stored
      refreshing = refreshTokens(bug === 'stale-capture' ? capturedRefresh : null).finally(() => {
        refreshesFinished += 1
        refreshing = null
      })
      return refreshing
    }
  }

  async function refreshTokens(capturedRefresh: string | null): Promise<string> {
    const refreshToken = capturedRefresh ?? (await ctx.storage.load()).refreshToken
    if (refreshToken === null) return signOut(new ApiError(401, 'NOT_SIGNED_IN', 'no refresh token stored; sign in again'))
    const answer =
      bug === 'self-intercept'
        ? await request<unknown>('POST', REFRESH_PATH, { refresh_token: refreshToken })
        : await postRefresh(refreshToken)
    const tokens = tokensFromAnswer(answer)
    if (!tokens) throw new ApiError(200, 'BAD_REFRESH_RESPONSE', 'the refresh answer has no access_token and refresh_token under data')
    const saved = ctx.storage.save({
      accessToken: tokens.accessToken,
      refreshToken: bug === 'access-only' ? refreshToken : tokens.refreshToken,
    })
    if (bug !== 'unawaited-save') await saved
    return tokens.accessToken
  }

  async function postRefresh(refreshToken: string): Promise<unknown> {
    let response: Response
    let text: string
    try {
      response = await ctx.fetch(`${ctx.baseUrl}${REFRESH_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      })
      text = await response.text()
    } catch (cause) {
      const error = new ApiError(0, 'NETWORK_ERROR', 'the refresh request got no answer', { cause })
      if (bug === 'logout-on-any-error') return signOut(error)
      throw error
    }
    const body = parseJson(text)
    if (response.status === 401 || (bug === 'logout-on-5xx' && response.status >= 500))
      return signOut(ApiError.fromResponse(response.status, body))
    if (!response.ok) throw ApiError.fromResponse(response.status, body)
    return body
  }

  async function signOut(reason: ApiError): Promise<never> {
    await ctx.storage.clear()
    ctx.onLogout()
    throw reason
  }

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { accessToken, refreshToken } = await ctx.storage.load()
    if (accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'no access token stored; sign in first')
    const first = await send(method, path, body, accessToken)
    if (first.status !== 401) return answer<T>(first)
    await first.arrayBuffer().catch(() => undefined)
    let token = await freshAccessToken(accessToken, refreshToken)
    let retried = await send(method, path, bug === 'body-lost' ? undefined : body, token)
    while (bug === 'retry-forever' && retried.status === 401) {
      await retried.arrayBuffer().catch(() => undefined)
      token = await freshAccessToken(token, null)
      retried = await send(method, path, body, token)
    }
    return answer<T>(retried)
  }

  return { request }
}
