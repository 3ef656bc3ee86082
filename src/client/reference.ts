import { ApiError, type Client, type ClientContext } from './contract.js'

/**
 * The reference client: an authed fetch wrapper that refreshes silently on a 401, the way the
 * silent-refresh lesson intends, with the gaps of its illustration closed. Copy it into your app.
 *
 * What it guarantees:
 * - **Single flight.** However many requests get a 401 at once, one `POST /api/auth/refresh` is
 *   sent; the others wait for it and retry with its result.
 * - **Rotation saved first.** Both the new access AND the new refresh token are saved before any
 *   request retries, so the next refresh spends the rotated token, never the old one.
 * - **Late 401s.** A 401 that arrives after another request already refreshed does not refresh
 *   again: the token it was sent with is older than the stored one, so it retries with that.
 * - **Retry once, intact.** The failed request is sent again once, same method and same body.
 * - **Network error ≠ logout.** If `/refresh` gets no answer, the tokens stay and the request
 *   rejects with `NETWORK_ERROR`; the next try refreshes again.
 * - **Refused refresh = logout, once.** A 401 from `/refresh` clears the tokens and calls
 *   `onLogout` once, however many requests were waiting on that refresh.
 * - **No refresh of the refresh.** The refresh call goes straight to `fetch`, never through
 *   this wrapper, so a 401 from it cannot start another refresh.
 *
 * @example
 * const api = createClient({ baseUrl: API_URL, fetch, storage: secureStorage, onLogout: () => router.replace('/login') })
 * const users = await api.request('GET', '/api/users')
 */
export function createClient(ctx: ClientContext, options: { refreshPath?: string } = {}): Client {
  const refreshPath = options.refreshPath ?? '/api/auth/refresh'
  /** The refresh in flight, shared by every request that needs it. */
  let refreshing: Promise<string> | null = null
  /** Counts settled refreshes, so a storage read that raced one is read again. */
  let refreshesFinished = 0

  async function send(method: string, path: string, body: unknown, accessToken: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await ctx.fetch(`${ctx.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', `${method} ${path} got no answer`, { cause })
    }
  }

  /**
   * An access token to retry with, newer than `rejected`: the one in storage if another request (or
   * another tab) already replaced it, the result of the refresh in flight, or a new refresh.
   */
  async function freshAccessToken(rejected: string): Promise<string> {
    for (;;) {
      if (refreshing) return refreshing
      const finishedBefore = refreshesFinished
      const { accessToken: stored } = await ctx.storage.load()
      if (refreshing) return refreshing // one started while storage was read
      if (refreshesFinished !== finishedBefore) continue // one finished meanwhile: that read may predate its save
      if (stored === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'signed out meanwhile; sign in again')
      if (stored !== rejected) return stored // a late 401: someone already refreshed
      // Check and set with no await in between: only one caller per refresh gets here.
      refreshing = refreshTokens().finally(() => {
        refreshesFinished += 1
        refreshing = null
      })
      return refreshing
    }
  }

  async function refreshTokens(): Promise<string> {
    const { refreshToken } = await ctx.storage.load()
    if (refreshToken === null) return signOut(new ApiError(401, 'NOT_SIGNED_IN', 'no refresh token stored; sign in again'))
    let response: Response
    let text: string
    try {
      // Straight to fetch, never through request(): a 401 here must not trigger a refresh.
      response = await ctx.fetch(`${ctx.baseUrl}${refreshPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      })
      text = await response.text()
    } catch (cause) {
      // No answer: the refresh token may still be good, so keep it and let the user try again.
      throw new ApiError(0, 'NETWORK_ERROR', 'the refresh request got no answer; tokens kept, try again', { cause })
    }
    const body = parseJson(text)
    if (response.status === 401) return signOut(ApiError.fromResponse(401, body))
    if (!response.ok) throw ApiError.fromResponse(response.status, body) // e.g. 503: transient, keep tokens
    // `data.access_token` in the simple shape, `data.tokens.access_token` in Grit's.
    const data = (body as { data?: TokenFields & { tokens?: TokenFields } } | null)?.data
    const tokens = data?.tokens ?? data
    if (typeof tokens?.access_token !== 'string' || typeof tokens.refresh_token !== 'string') {
      throw new ApiError(response.status, 'BAD_REFRESH_RESPONSE', 'the refresh answer has no access_token and refresh_token under data')
    }
    // Save BOTH before anyone retries: the old refresh token is dead once rotated.
    await ctx.storage.save({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token })
    return tokens.access_token
  }

  async function signOut(reason: ApiError): Promise<never> {
    await ctx.storage.clear()
    ctx.onLogout()
    throw reason
  }

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const { accessToken } = await ctx.storage.load()
      if (accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'no access token stored; sign in first')
      const first = await send(method, path, body, accessToken)
      if (first.status !== 401) return answer<T>(first)
      await first.arrayBuffer().catch(() => undefined) // free the connection before waiting
      const token = await freshAccessToken(accessToken)
      return answer<T>(await send(method, path, body, token)) // once: a second 401 goes to the caller
    },
  }
}

interface TokenFields {
  access_token?: unknown
  refresh_token?: unknown
}

/** The parsed body of a success, or the ApiError of a failure. Shared with the faulty clients. */
export async function answer<T>(response: Response): Promise<T> {
  let text: string
  try {
    text = await response.text()
  } catch (cause) {
    throw new ApiError(0, 'NETWORK_ERROR', 'the connection dropped while the answer was read', { cause })
  }
  const body = parseJson(text)
  if (!response.ok) throw ApiError.fromResponse(response.status, body)
  return body as T
}

/** JSON, or null for an empty or non-JSON body. */
export function parseJson(text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}
