// A cross-tab client as written for browsers: the refresh runs under navigator.locks (the Web
// Locks API), and inside the lock it reads storage again, so a tab that waited finds the tokens
// another tab already refreshed and spends nothing. Expected: one refresh however many tabs and
// requests see the expiry; no reuse.
import { ApiError, type ClientContext } from '../../src/client/contract.js'

interface LockManager {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>
}

export function createClient(ctx: ClientContext) {
  const locks = (globalThis as unknown as { navigator: { locks: LockManager } }).navigator.locks

  async function send(method: string, path: string, body: unknown, token: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await ctx.fetch(`${ctx.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch (cause) {
      throw new ApiError(0, 'NETWORK_ERROR', `${method} ${path} got no answer`, { cause })
    }
  }

  async function parse(response: Response): Promise<unknown> {
    const body = (await response.json().catch(() => null)) as unknown
    if (!response.ok) throw ApiError.fromResponse(response.status, body)
    return body
  }

  function refreshed(rejected: string): Promise<string> {
    return locks.request('auth-refresh', async () => {
      const { accessToken, refreshToken } = await ctx.storage.load()
      if (accessToken === null || refreshToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'signed out meanwhile')
      if (accessToken !== rejected) return accessToken // another request or tab refreshed first
      const response = await send('POST', '/api/auth/refresh', { refresh_token: refreshToken }, accessToken)
      if (response.status === 401) {
        await ctx.storage.clear()
        ctx.onLogout()
        return parse(response) as never
      }
      const answer = (await parse(response)) as { data: { access_token: string; refresh_token: string } }
      await ctx.storage.save({ accessToken: answer.data.access_token, refreshToken: answer.data.refresh_token })
      return answer.data.access_token
    })
  }

  return {
    async request(method: string, path: string, body?: unknown) {
      const { accessToken } = await ctx.storage.load()
      if (accessToken === null) throw new ApiError(401, 'NOT_SIGNED_IN', 'sign in first')
      const first = await send(method, path, body, accessToken)
      if (first.status !== 401) return parse(first)
      await first.arrayBuffer()
      return parse(await send(method, path, body, await refreshed(accessToken)))
    },
  }
}
