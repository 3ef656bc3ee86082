/**
 * ofetch (1.5) client, in the pattern the Nuxt/ofetch guides show: `ofetch.create()` with an
 * `onRequest` hook that sets the bearer, an `onResponseError` hook that refreshes on a 401, and
 * ofetch's own retry (`retry: 1`, `retryStatusCodes: [401]`) re-sending the request once the hook
 * has resolved: ofetch awaits `onResponseError` before it decides to retry, and the retry runs
 * `onRequest` again, which reads the new token from storage. The custom fetch goes in ofetch's
 * global options (`ofetch.create(defaults, { fetch })`, the same as `createFetch({ fetch })`).
 * Added as guides do: one shared refresh promise (single flight), both rotated tokens saved, and
 * only a 401 from /refresh clears the tokens and calls onLogout; the refresh goes through a
 * separate instance without hooks. `retry: 1` is set explicitly because ofetch does not retry
 * POST/PUT/PATCH/DELETE by default. ofetch calls `fetch(url, init)` with a URL string.
 *
 * Prediction, written before running: the harness's fetch takes ofetch's (url, init) as it is.
 * - run: PASS burst (200 ms held /refresh), logout-revokes, post-retry-body (the retry re-sends
 *   the already serialized body string), refresh-expired, refresh-network-error (a dropped
 *   refresh has no status, and retryStatusCodes holds only 401, so no blind retry),
 *   refresh-not-intercepted, refresh-rejected, rotation-saved, slow-refresh, two-tabs,
 *   two-tabs-grace.
 *   FAIL late-401: the shared promise is forgotten once it settles and the hook never checks
 *   whether its token was already replaced, so the late 401 refreshes again (2 refreshes, no reuse).
 *   Known gap not hit by a scenario: a 401 on the retry itself runs onResponseError once more and
 *   refreshes a second time without retrying.
 * - burst --parallel 10: 1 refresh if all ten 401s land while the refresh is in flight; a late
 *   401 makes a 2nd one, so an intermittent FAIL on refresh counts, never a reuse.
 *
 * Observed with the v0.1 harness (in-process, undici's fetch, unmodified): 10/12; late-401 FAIL (2 refreshes) as predicted, and
 * two-tabs FAIL (3 refreshes): the "known gap" above IS hit there: a retry answered 401
 * TOKEN_REVOKED (tab 2's reuse revoked the session) refreshes again, with the cleared token (422).
 * burst CLI: 1-3 refreshes over seven runs, every request ok, no reuse.
 * With the isolated harness: late-401 FAIL, and two-tabs only when the retry loses the race
 * with the other tab's reuse. Of the newer scenarios, retry-still-401 FAILs: the 401 hook runs for
 * the retry too, so a request whose retry is refused costs two refreshes.
 */
import { FetchError, ofetch } from 'ofetch'
import type { Client, ClientContext } from '../../src/client/contract.js'

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ApiError'
  }
}

interface Envelope {
  data?: { access_token?: unknown; refresh_token?: unknown }
  error?: { code?: unknown; message?: unknown }
}

function fromBody(status: number, body: unknown): ApiError {
  const error = (body as Envelope | null | undefined)?.error
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`
  const message = typeof error?.message === 'string' ? error.message : `the server answered ${status}`
  return new ApiError(status, code, message)
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof FetchError && typeof error.status === 'number') return fromBody(error.status, error.data)
  return new ApiError(0, 'NETWORK_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}

export function createClient(ctx: ClientContext): Client {
  const globals = { fetch: ctx.fetch }
  // No hooks: a 401 from /refresh must not start another refresh.
  const authFetch = ofetch.create({ baseURL: ctx.baseUrl, retry: 0 }, globals)
  let refreshing: Promise<string> | null = null

  async function refreshTokens(): Promise<string> {
    const { refreshToken } = await ctx.storage.load()
    let body: Envelope
    try {
      body = await authFetch<Envelope>('/api/auth/refresh', { method: 'POST', body: { refresh_token: refreshToken } })
    } catch (error) {
      const apiError = toApiError(error)
      if (apiError.status === 401) {
        await ctx.storage.clear()
        ctx.onLogout()
      }
      throw apiError
    }
    const data = body?.data
    if (typeof data?.access_token !== 'string' || typeof data.refresh_token !== 'string') {
      throw new ApiError(200, 'BAD_REFRESH_RESPONSE', 'the refresh answer has no tokens')
    }
    await ctx.storage.save({ accessToken: data.access_token, refreshToken: data.refresh_token })
    return data.access_token
  }

  function refreshOnce(): Promise<string> {
    refreshing ??= refreshTokens().finally(() => {
      refreshing = null
    })
    return refreshing
  }

  const api = ofetch.create(
    {
      baseURL: ctx.baseUrl,
      retry: 1,
      retryStatusCodes: [401],
      async onRequest({ options }) {
        const { accessToken } = await ctx.storage.load()
        if (accessToken) options.headers.set('Authorization', `Bearer ${accessToken}`)
      },
      async onResponseError({ response }) {
        if (response.status === 401) await refreshOnce()
      },
    },
    globals,
  )

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      try {
        const data: unknown = await api(path, {
          method: method as 'GET',
          ...(body === undefined ? {} : { body: body as Record<string, unknown> }),
        })
        return (data === undefined ? null : data) as T
      } catch (error) {
        throw toApiError(error)
      }
    },
  }
}
