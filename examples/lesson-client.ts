/**
 * The silent-refresh interceptor from the token-refresh lesson (apps/mobile/lib/api.ts), adapted to
 * refresh-lab's client contract so the suite can prove it. What changed from the lesson, and why:
 * - `fetch`, the token storage and the sign-out go through `ctx`, so the harness can count them;
 *   in the app they are the global fetch, SecureStore and the AuthProvider's redirect.
 * - the promise lock from the lesson's "Single-flight" section is wired in;
 * - a late 401 retries with the token another request already saved instead of refreshing again;
 * - a network error during refresh keeps the tokens; a 401 from /refresh signs out once.
 *
 * Run it: npx refresh-lab run --client ./examples/lesson-client.ts
 */
interface Tokens {
  accessToken: string
  refreshToken: string
}

interface ClientContext {
  baseUrl: string
  fetch: typeof fetch
  storage: {
    load(): Promise<{ accessToken: string | null; refreshToken: string | null }>
    save(tokens: Tokens): Promise<void>
    clear(): Promise<void>
  }
  onLogout: () => void
}

/** The API's JSON: `{ data }` on success, `{ error: { code, message } }` on failure. */
interface Envelope {
  data?: { access_token: string; refresh_token: string }
  error?: { code?: string; message?: string }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function createClient(ctx: ClientContext) {
  const API_URL = ctx.baseUrl
  let refreshing: Promise<string> | null = null

  async function doRefresh(): Promise<string> {
    const { refreshToken } = await ctx.storage.load()
    let r: Response
    try {
      r = await ctx.fetch(`${API_URL}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      })
    } catch {
      throw new ApiError(0, 'NETWORK_ERROR', 'Network error, try again') // show a toast; keep the user signed in
    }
    const json = (await r.json().catch(() => null)) as Envelope | null
    if (r.status === 401) {
      await ctx.storage.clear()
      ctx.onLogout() // the AuthProvider sends the user to /login
      throw new ApiError(401, json?.error?.code ?? 'UNAUTHORIZED', json?.error?.message ?? 'Signed out')
    }
    if (!r.ok || !json?.data) throw new ApiError(r.status, json?.error?.code ?? 'REFRESH_FAILED', 'Refresh failed')
    await ctx.storage.save({ accessToken: json.data.access_token, refreshToken: json.data.refresh_token })
    return json.data.access_token
  }

  function refreshTokens(): Promise<string> {
    if (refreshing) return refreshing
    refreshing = doRefresh().finally(() => {
      refreshing = null
    })
    return refreshing
  }

  async function authedRequest<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { accessToken: access } = await ctx.storage.load()
    const doFetch = async (token: string | null) => {
      try {
        return await ctx.fetch(`${API_URL}${path}`, {
          method,
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        })
      } catch {
        throw new ApiError(0, 'NETWORK_ERROR', 'Network error')
      }
    }
    let res = await doFetch(access)
    if (res.status === 401) {
      await res.arrayBuffer()
      // A late 401: another request refreshed while this one was in flight; use its token.
      const { accessToken: stored } = await ctx.storage.load()
      if (stored === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'Signed out')
      const token = refreshing ?? (stored !== access ? stored : refreshTokens())
      res = await doFetch(await token)
    }
    const json: unknown = await res.json().catch(() => null)
    if (!res.ok) {
      const { error } = (json ?? {}) as Envelope
      throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? res.statusText)
    }
    return json as T
  }

  return { request: authedRequest }
}
