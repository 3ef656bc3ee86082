import { ApiError, type Client, type ClientContext } from './contract.js'

/**
 * A deliberately broken client, kept so the harness has a known-bad case to catch: the lesson's
 * first interceptor, which refreshes on every 401 by itself. With ten parallel 401s it sends ten
 * `/refresh` calls; with rotation, nine of them spend a token that was already rotated, the server
 * detects the reuse and revokes the session. Do not copy this one.
 */
export function createClient(ctx: ClientContext): Client {
  const send = (method: string, path: string, body: unknown, token: string | null) =>
    ctx.fetch(`${ctx.baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? ''}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })

  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let response = await send(method, path, body, (await ctx.storage.load()).accessToken)
      let json: unknown = await response.json().catch(() => null)
      if (response.status === 401) {
        // The bug: no lock. Every request that got a 401 spends the refresh token on its own.
        const { refreshToken } = await ctx.storage.load()
        const refreshed = await ctx.fetch(`${ctx.baseUrl}/api/auth/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: refreshToken }),
        })
        const tokens = (await refreshed.json().catch(() => null)) as { data?: { access_token: string; refresh_token: string } } | null
        if (refreshed.ok && tokens?.data) {
          await ctx.storage.save({ accessToken: tokens.data.access_token, refreshToken: tokens.data.refresh_token })
          response = await send(method, path, body, tokens.data.access_token)
          json = await response.json().catch(() => null)
        }
      }
      if (!response.ok) throw ApiError.fromResponse(response.status, json)
      return json as T
    },
  }
}
