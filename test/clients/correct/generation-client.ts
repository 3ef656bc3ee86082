/**
 * A correct client written independently of the reference one, in the style of guides that keep a
 * token generation: every refresh bumps the generation, and a 401 for an older generation retries
 * with the current token instead of refreshing (the late-401 check). Three choices a correct
 * client may make differently are switches, and each variant module sets one of them; the suite
 * must pass all three on every must-level scenario.
 */
import type { ClientContext } from '../../../src/client/contract.js'

export interface Choices {
  /** After a refused refresh, reject with the request's own 401 (as Redux Toolkit's re-auth recipe does), not the refresh's. */
  rejectWithOwn401?: boolean
  /** Retry a refresh whose connection dropped, up to twice. */
  retryDroppedRefresh?: boolean
  /** Read TOKEN_REVOKED on a 401 and sign out at once, without a refresh that cannot succeed. */
  signOutOnRevoked?: boolean
}

class RequestFailed extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function createGenerationClient(ctx: ClientContext, choices: Choices) {
  let generation = 0
  let inFlight: Promise<void> | null = null

  const call = async (method: string, path: string, body: unknown, token: string | null) => {
    const headers = new Headers()
    if (token !== null) headers.set('Authorization', `Bearer ${token}`)
    if (body !== undefined) headers.set('Content-Type', 'application/json')
    let response: Response
    try {
      response = await ctx.fetch(new URL(path, ctx.baseUrl), { method, headers, body: body === undefined ? null : JSON.stringify(body) })
    } catch {
      throw new RequestFailed(0, 'NETWORK_ERROR', `${method} ${path}: no answer`)
    }
    const json = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null
    return { response, json }
  }

  const failure = (status: number, json: { error?: { code?: string; message?: string } } | null) =>
    new RequestFailed(status, json?.error?.code ?? `HTTP_${status}`, json?.error?.message ?? `answered ${status}`)

  /** One sign-out per session, however many requests find it over. */
  let signingOut: Promise<void> | null = null
  const signOut = () =>
    (signingOut ??= (async () => {
      await ctx.storage.clear()
      ctx.onLogout()
    })())

  async function refresh(): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const { refreshToken } = await ctx.storage.load()
      if (refreshToken === null) throw new RequestFailed(401, 'NOT_SIGNED_IN', 'signed out')
      try {
        const { response, json } = await call('POST', '/api/auth/refresh', { refresh_token: refreshToken }, null)
        if (response.status === 401) {
          await signOut()
          throw failure(401, json)
        }
        if (!response.ok) throw failure(response.status, json)
        const data = (json as unknown as { data: { access_token: string; refresh_token: string } }).data
        await ctx.storage.save({ accessToken: data.access_token, refreshToken: data.refresh_token })
        generation += 1
        return
      } catch (error) {
        const dropped = error instanceof RequestFailed && error.code === 'NETWORK_ERROR'
        if (!(dropped && choices.retryDroppedRefresh && attempt < 2)) throw error
      }
    }
  }

  function refreshOnce(seenGeneration: number): Promise<void> {
    if (generation !== seenGeneration) return Promise.resolve() // someone refreshed since this request started
    inFlight ??= refresh().finally(() => (inFlight = null))
    return inFlight
  }

  return {
    async request(method: string, path: string, body?: unknown) {
      const seen = generation
      const { accessToken } = await ctx.storage.load()
      if (accessToken === null) throw new RequestFailed(401, 'NOT_SIGNED_IN', 'sign in first')
      const first = await call(method, path, body, accessToken)
      if (first.response.status !== 401) {
        if (!first.response.ok) throw failure(first.response.status, first.json)
        return first.json
      }
      if (choices.signOutOnRevoked && first.json?.error?.code === 'TOKEN_REVOKED') {
        await signOut()
        throw failure(401, first.json)
      }
      try {
        await (inFlight ?? refreshOnce(seen))
      } catch (error) {
        if (choices.rejectWithOwn401 && error instanceof RequestFailed && error.status === 401) throw failure(401, first.json)
        throw error
      }
      const { accessToken: fresh } = await ctx.storage.load()
      if (fresh === null)
        throw choices.rejectWithOwn401 ? failure(401, first.json) : new RequestFailed(401, 'NOT_SIGNED_IN', 'signed out meanwhile')
      const retried = await call(method, path, body, fresh)
      if (!retried.response.ok) throw failure(retried.response.status, retried.json)
      return retried.json
    },
  }
}
