/**
 * ky (1.14) client, written the way ky's README shows a token refresh: a `beforeRequest` hook puts
 * the bearer on every request, and an `afterResponse` hook that sees a 401 gets a fresh token,
 * sets it on the request and returns `ky(request, options)`, whose response replaces the 401.
 * (ky's 1.14 README now shows `ky.retry({request})` for this, which obeys `retry.limit`; the
 * `return ky(request, options)` form is the older README's and the one most guides copy.) Added to
 * the bare README snippet, as guides do: one shared refresh promise (single flight), both rotated
 * tokens saved, a 401 from /refresh clears the tokens and calls onLogout, and the retry runs
 * without the afterResponse hook so a second 401 goes to the caller instead of refreshing again.
 * ky calls `fetch(request, init)` with a Request object, never a URL string: that is what this
 * client exercises in the harness.
 *
 * Prediction, written before running (for a harness whose fetch accepts a Request):
 * - run: PASS burst (the 200 ms held /refresh makes every 401 land while the one shared promise is
 *   in flight), logout-revokes, post-retry-body (ky keeps the body on its request clone and
 *   `options.json` is re-sent), refresh-expired, refresh-network-error (only a 401 signs out),
 *   refresh-not-intercepted (the refresh goes through a hook-less ky instance), refresh-rejected
 *   (the refresher alone calls onLogout), rotation-saved, slow-refresh, two-tabs, two-tabs-grace.
 *   FAIL late-401: the promise is forgotten once it settles and there is no "was my token already
 *   replaced?" check, so the late 401 refreshes a second time (2 refreshes, no reuse: it spends
 *   the rotated token).
 * - burst --parallel 10 (no delay on /refresh): 1 refresh only if all ten 401s land before the
 *   refresh settles; a late 401 makes a 2nd refresh, so expect an intermittent FAIL on refresh
 *   counts (never a reuse, every request succeeds).
 * With the harness as of this writing: every request fails with NETWORK_ERROR, because the
 * harness hands the Request object to npm undici's fetch ("Failed to parse URL from [object Request]").
 *
 * Observed with the v0.1 harness (in-process, undici's fetch, after writing the above): as said, every request NETWORK_ERROR
 * ("Failed to parse URL from [object Request]"), 0/12. Through a test-only shim turning the Request
 * into (url, init) the retries STILL failed (401 TOKEN_EXPIRED although the server answered the
 * retry 200): the harness's fetch returns npm undici's Response, not globalThis.Response, so ky's
 * `instanceof globalThis.Response` check drops the retried response. With the shim also re-wrapping
 * the Response: 11/12, late-401 FAIL (2 refreshes), burst CLI 2-3 refreshes, as predicted.
 * With the isolated harness (ctx.fetch takes a Request, returns the runtime's Response): 11/12,
 * late-401 FAIL (2 refreshes, no reuse), as predicted.
 */
import ky, { HTTPError, type KyInstance, type Options } from 'ky'
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

function fromBody(status: number, body: Envelope | null): ApiError {
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${status}`
  const message = typeof body?.error?.message === 'string' ? body.error.message : `the server answered ${status}`
  return new ApiError(status, code, message)
}

async function readJson(response: Response): Promise<Envelope | null> {
  try {
    const text = await response.text()
    return text === '' ? null : (JSON.parse(text) as Envelope)
  } catch {
    return null
  }
}

export function createClient(ctx: ClientContext): Client {
  const prefixUrl = ctx.baseUrl
  // The refresh call: no hooks, so a 401 from it can never start another refresh.
  const authKy: KyInstance = ky.create({ prefixUrl, fetch: ctx.fetch, retry: 0, throwHttpErrors: false })
  let refreshing: Promise<string> | null = null

  async function refreshTokens(): Promise<string> {
    const { refreshToken } = await ctx.storage.load()
    let response: Response
    try {
      response = await authKy.post('api/auth/refresh', { json: { refresh_token: refreshToken } })
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', 'the refresh request got no answer', { cause })
    }
    const body = await readJson(response)
    if (response.status === 401) {
      await ctx.storage.clear()
      ctx.onLogout()
      throw fromBody(401, body)
    }
    const data = body?.data
    if (!response.ok || typeof data?.access_token !== 'string' || typeof data.refresh_token !== 'string') {
      throw fromBody(response.status, body)
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

  const api = ky.create({
    prefixUrl,
    fetch: ctx.fetch,
    retry: 0,
    throwHttpErrors: true,
    hooks: {
      beforeRequest: [
        async (request) => {
          const { accessToken } = await ctx.storage.load()
          if (accessToken) request.headers.set('Authorization', `Bearer ${accessToken}`)
        },
      ],
      afterResponse: [
        async (request, options, response) => {
          if (response.status !== 401) return response
          const token = await refreshOnce()
          request.headers.set('Authorization', `Bearer ${token}`)
          // `options` comes without hooks: the retry neither re-reads storage nor refreshes again.
          // (The cast only bridges exactOptionalPropertyTypes: NormalizedOptions has `x?: T | undefined`.)
          return ky(request, options as Options)
        },
      ],
    },
  })

  async function toApiError(error: unknown): Promise<ApiError> {
    if (error instanceof ApiError) return error
    if (error instanceof HTTPError) return fromBody(error.response.status, await readJson(error.response))
    return new ApiError(0, 'NETWORK_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
  }

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      try {
        const response = await api(path.replace(/^\//, ''), { method, ...(body === undefined ? {} : { json: body }) })
        const text = await response.text()
        return (text === '' ? null : JSON.parse(text)) as T
      } catch (error) {
        throw await toApiError(error)
      }
    },
  }
}
