/**
 * axios (1.x) on its fetch adapter (`adapter: 'fetch'`, and since axios 1.12 `env: { fetch }` to
 * hand it a custom fetch, per axios's README "Custom fetch"), with the most copied silent-refresh
 * pattern there is: a response interceptor with an `isRefreshing` flag and a `failedQueue` of
 * pending promises. The first 401 marks its config `_retry`, refreshes and replays the queue; 401s
 * that arrive while it refreshes wait in the queue and are retried with the new token; the refresh
 * goes through a separate axios instance without interceptors. A request interceptor puts the
 * bearer from storage on every request. As the guides do once rotation is involved: both tokens
 * saved, and only a 401 from /refresh clears them and calls onLogout (any other failure rejects
 * the queue but keeps the tokens).
 * axios's fetch adapter builds a Request and calls `fetch(request, fetchOptions)` with it.
 *
 * Prediction, written before running (for a harness whose fetch accepts a Request):
 * - run: PASS burst (200 ms held /refresh: every 401 queues behind the one refresh),
 *   logout-revokes, post-retry-body (axios already holds the JSON string in config.data and
 *   re-sends it unchanged), refresh-expired, refresh-network-error, refresh-not-intercepted,
 *   refresh-rejected (the queue is rejected, onLogout called once by the refresher),
 *   rotation-saved, slow-refresh, two-tabs, two-tabs-grace.
 *   FAIL late-401: `isRefreshing` is false again when the late 401 lands and the pattern never
 *   compares the token it sent with the stored one, so it refreshes a second time (2 refreshes,
 *   no reuse, all requests succeed).
 * - burst --parallel 10: 1 refresh when every 401 lands during the refresh, else 2+: an
 *   intermittent FAIL on refresh counts, never a reuse.
 * With the harness as of this writing: every request fails with NETWORK_ERROR ("Failed to parse
 * URL from [object Request]" inside the harness's fetch).
 *
 * Observed with the v0.1 harness (in-process, undici's fetch): as said, 0/12, all NETWORK_ERROR. Through a test-only shim turning the
 * Request into (url, init): 10/12; late-401 FAIL (2 refreshes) as predicted, and two-tabs FAIL
 * (3 refreshes), not predicted: queued configs never get `_retry` (as in the gist), so a queued
 * retry that gets 401 TOKEN_REVOKED (tab 2's reuse revoked the session) starts a 3rd refresh.
 * burst CLI: 2-3 refreshes, every request ok, no reuse.
 * With the isolated harness: 11/12 or 10/12; late-401 FAIL, and two-tabs only when a queued
 * retry loses the race with the other tab's reuse.
 */
import axios, { AxiosError, type InternalAxiosRequestConfig } from 'axios'
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
  if (error instanceof AxiosError && error.response) return fromBody(error.response.status, error.response.data)
  return new ApiError(0, 'NETWORK_ERROR', error instanceof Error ? error.message : String(error), { cause: error })
}

type RetryableConfig = InternalAxiosRequestConfig & { _retry?: boolean }

export function createClient(ctx: ClientContext): Client {
  const shared = { baseURL: ctx.baseUrl, adapter: 'fetch' as const, env: { fetch: ctx.fetch } }
  const api = axios.create(shared)
  // No interceptors on this one: a 401 from /refresh must not start another refresh.
  const authApi = axios.create(shared)

  let isRefreshing = false
  let failedQueue: Array<{ resolve: (token: string) => void; reject: (error: unknown) => void }> = []

  const processQueue = (error: unknown, token: string | null = null) => {
    for (const pending of failedQueue) {
      if (error) pending.reject(error)
      else pending.resolve(token as string)
    }
    failedQueue = []
  }

  api.interceptors.request.use(async (config) => {
    const { accessToken } = await ctx.storage.load()
    if (accessToken) config.headers.Authorization = `Bearer ${accessToken}`
    return config
  })

  api.interceptors.response.use(
    (response) => response,
    async (error: unknown) => {
      if (!(error instanceof AxiosError) || !error.config) return Promise.reject(error)
      const originalRequest = error.config as RetryableConfig
      if (error.response?.status !== 401 || originalRequest._retry) return Promise.reject(error)

      if (isRefreshing) {
        return new Promise<string>((resolve, reject) => {
          failedQueue.push({ resolve, reject })
        }).then((token) => {
          originalRequest.headers.Authorization = `Bearer ${token}`
          return api(originalRequest)
        })
      }

      originalRequest._retry = true
      isRefreshing = true
      try {
        const { refreshToken } = await ctx.storage.load()
        const { data } = await authApi.post<Envelope>('/api/auth/refresh', { refresh_token: refreshToken })
        const tokens = data.data
        if (typeof tokens?.access_token !== 'string' || typeof tokens.refresh_token !== 'string') {
          throw new ApiError(200, 'BAD_REFRESH_RESPONSE', 'the refresh answer has no tokens')
        }
        await ctx.storage.save({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token })
        processQueue(null, tokens.access_token)
        originalRequest.headers.Authorization = `Bearer ${tokens.access_token}`
        return api(originalRequest)
      } catch (refreshError) {
        const apiError = toApiError(refreshError)
        processQueue(apiError, null)
        if (apiError.status === 401) {
          await ctx.storage.clear()
          ctx.onLogout()
        }
        return Promise.reject(apiError)
      } finally {
        isRefreshing = false
      }
    },
  )

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      try {
        const response = await api.request<T>({ method, url: path, ...(body === undefined ? {} : { data: body }) })
        return response.data
      } catch (error) {
        throw toApiError(error)
      }
    },
  }
}
