/**
 * got (14) client, in the pattern got's docs show for refreshing an access token (hooks docs,
 * `afterResponse`): `got.extend({ prefixUrl, hooks })` where an `afterResponse` hook that sees a
 * 401 gets a new token and returns `retryWithMergedOptions({ headers })`; got then re-sends the
 * request without that hook, so a second 401 goes to the caller. A `beforeRequest` hook puts the
 * bearer from storage on every request (instead of the docs' `mutableDefaults` + `defaults.options.merge`,
 * which would share one token across tabs). Added as guides do: one shared refresh promise
 * (single flight), both rotated tokens saved, only a 401 from /refresh clears them and calls
 * onLogout, the refresh on a separate got instance without hooks, `retry: { limit: 0 }`.
 * got speaks node:http itself and cannot take a custom fetch: it BYPASSES ctx.fetch, so the
 * harness sees none of its calls and must judge it from the server side alone.
 *
 * Prediction, written before running: the client-side refresh count is 0 (no call goes through
 * ctx.fetch) while the server sees the real ones, so wherever the harness checks "client and
 * server agree" or a client refresh count, got FAILS that check; the server-side behaviour:
 * - run, server side: as ky/axios/ofetch: right in burst (200 ms held /refresh), logout-revokes,
 *   post-retry-body (the merged options keep `json`), refresh-expired, refresh-network-error,
 *   refresh-not-intercepted, refresh-rejected, rotation-saved, slow-refresh, two-tabs,
 *   two-tabs-grace; wrong in late-401 (a 2nd refresh for the late 401). Since every scenario
 *   expects refreshes on the client side too, the current harness should FAIL all of them on the
 *   client count / agreement, with the server-side counts otherwise as listed.
 * - burst --parallel 10: requests succeed, server sees 1 refresh (2 if a 401 lands late), client
 *   count 0: FAIL on "refresh calls (client)" and "client and server agree".
 *
 * Observed with the v0.1 harness (in-process, undici's fetch): 0/12, each failing only on "refresh calls (client)" got 0 and "client
 * and server agree"; server side exactly as predicted (late-401 2 refreshes, two-tabs 2 + reuse).
 * burst CLI: server 3-4 refreshes, client 0, every request ok, no reuse.
 * With the isolated harness: judged on the server's counts (the report says so); 11/12, late-401
 * FAIL (2 refreshes, no reuse), as predicted.
 */
import got, { RequestError } from 'got'
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

function parse(body: unknown): unknown {
  if (typeof body !== 'string') return body
  try {
    return JSON.parse(body) as unknown
  } catch {
    return null
  }
}

function fromBody(status: number, body: unknown): ApiError {
  const error = (parse(body) as Envelope | null | undefined)?.error
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`
  const message = typeof error?.message === 'string' ? error.message : `the server answered ${status}`
  return new ApiError(status, code, message)
}

function toApiError(error: unknown): ApiError {
  // got wraps an error thrown by a hook in a RequestError whose `cause` is that error and whose
  // `response` is the ORIGINAL 401: look for our own error first.
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof ApiError) return e
  }
  if (error instanceof RequestError && error.response) return fromBody(error.response.statusCode, error.response.body)
  return new ApiError(0, 'NETWORK_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}

export function createClient(ctx: ClientContext): Client {
  // No hooks: a 401 from /refresh must not start another refresh.
  const auth = got.extend({ prefixUrl: ctx.baseUrl, retry: { limit: 0 }, throwHttpErrors: false, responseType: 'json' })
  let refreshing: Promise<string> | null = null

  async function refreshTokens(): Promise<string> {
    const { refreshToken } = await ctx.storage.load()
    let statusCode: number
    let body: unknown
    try {
      const response = await auth.post('api/auth/refresh', { json: { refresh_token: refreshToken } })
      statusCode = response.statusCode
      body = parse(response.body)
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', 'the refresh request got no answer', { cause })
    }
    if (statusCode === 401) {
      await ctx.storage.clear()
      ctx.onLogout()
      throw fromBody(401, body)
    }
    const data = (body as Envelope | null)?.data
    if (statusCode >= 300 || typeof data?.access_token !== 'string' || typeof data.refresh_token !== 'string') {
      throw fromBody(statusCode, body)
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

  const api = got.extend({
    prefixUrl: ctx.baseUrl,
    retry: { limit: 0 },
    responseType: 'json',
    hooks: {
      beforeRequest: [
        async (options) => {
          const { accessToken } = await ctx.storage.load()
          if (accessToken) options.headers.authorization = `Bearer ${accessToken}`
        },
      ],
      afterResponse: [
        async (response, retryWithMergedOptions) => {
          if (response.statusCode !== 401) return response
          const token = await refreshOnce()
          return retryWithMergedOptions({ headers: { authorization: `Bearer ${token}` } })
        },
      ],
    },
  })

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      try {
        const response = await api(path.replace(/^\//, ''), {
          method: method as 'GET',
          ...(body === undefined ? {} : { json: body }),
        })
        return (response.body === '' ? null : parse(response.body)) as T
      } catch (error) {
        throw toApiError(error)
      }
    },
  }
}
