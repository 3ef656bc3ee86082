import { type AuthChangeEvent, createClient, type SupabaseClient } from '@supabase/supabase-js'
import { startLab, type RunningLab } from 'refresh-lab'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

/**
 * supabase-js (its auth client, @supabase/auth-js), a client nobody here wrote, against
 * `--profile supabase` with GoTrue's reuse rule (`--reuse-grace 10s --grace-returns parent`):
 * password sign-in, getUser, refreshSession, signOut, autoRefreshToken, and two clients sharing one
 * storage, the setting of the "Invalid Refresh Token: Already Used" reports (docs/clients.md).
 */

/** What a browser's localStorage is to supabase-js: one origin's key-value store, shared by its tabs. */
function memoryStorage() {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  }
}
type Storage = ReturnType<typeof memoryStorage>
const STORAGE_KEY = 'sb-127-auth-token' // supabase-js's default for a URL whose host starts 127.

/** Node 20 has no global WebSocket and supabase-js builds its realtime client at once; no test here opens a channel. */
class NoWebSocket {
  constructor() {
    throw new Error('these tests open no realtime channel')
  }
}

const storedRefreshToken = (storage: Storage) => {
  const raw = storage.items.get(STORAGE_KEY)
  return raw === undefined ? undefined : (JSON.parse(raw) as { refresh_token: string }).refresh_token
}

describe('supabase-js against the supabase profile', () => {
  let lab: RunningLab
  beforeAll(async () => {
    lab = await startLab({ profile: 'supabase', reuseGrace: '10s', graceReturns: 'parent' })
  })
  afterAll(async () => {
    await lab.stop()
  })
  beforeEach(async () => {
    await lab.reset()
  })

  const clients: SupabaseClient[] = []
  function client(storage: Storage, options: { autoRefreshToken?: boolean; debug?: (...args: unknown[]) => void } = {}) {
    const sb = createClient(lab.url, 'anon-key', {
      auth: {
        autoRefreshToken: options.autoRefreshToken ?? false,
        persistSession: true,
        detectSessionInUrl: false,
        storage,
        ...(options.debug ? { debug: options.debug } : {}),
      },
      realtime: { transport: NoWebSocket as never },
    })
    clients.push(sb)
    return sb
  }
  afterAll(async () => {
    // The auto-refresh ticker is unref'd, but stop it anyway so nothing outlives the file.
    for (const sb of clients) await sb.auth.stopAutoRefresh()
  })

  const signIn = async (sb: SupabaseClient) => {
    const { data, error } = await sb.auth.signInWithPassword({ email: 'demo@example.com', password: 'password' })
    expect(error).toBeNull()
    return data.session as NonNullable<typeof data.session>
  }

  /** Resolves at the client's next auth event of this kind; the test's own timeout bounds it. */
  const nextEvent = (sb: SupabaseClient, wanted: AuthChangeEvent) =>
    new Promise<void>((resolve) => {
      const { data } = sb.auth.onAuthStateChange((event) => {
        if (event !== wanted) return
        data.subscription.unsubscribe()
        resolve()
      })
    })

  it('signs in with a password, gets the user, refreshes with rotation and signs out', async () => {
    const storage = memoryStorage()
    const sb = client(storage)
    const wrong = await sb.auth.signInWithPassword({ email: 'demo@example.com', password: 'wrong' })
    expect(wrong.error).toMatchObject({
      name: 'AuthApiError',
      status: 400,
      code: 'invalid_credentials',
      message: 'Invalid login credentials',
    })

    const session = await signIn(sb)
    expect(session.user.email).toBe('demo@example.com')
    expect(storedRefreshToken(storage)).toBe(session.refresh_token)
    const { data: got, error: userError } = await sb.auth.getUser()
    expect(userError).toBeNull()
    expect(got.user).toMatchObject({ id: 'usr_1', email: 'demo@example.com' })

    const refreshed = await sb.auth.refreshSession()
    expect(refreshed.error).toBeNull()
    expect(refreshed.data.session?.refresh_token).not.toBe(session.refresh_token)
    expect(storedRefreshToken(storage)).toBe(refreshed.data.session?.refresh_token)
    expect((await lab.stats()).refresh).toMatchObject({ calls: 1, succeeded: 1, rejected: 0 })

    expect((await sb.auth.signOut()).error).toBeNull()
    expect(storage.items.size).toBe(0)
    expect((await lab.sessions()).map((s) => s.status)).toEqual(['revoked'])
    // Its old refresh token is dead on the server too.
    const replay = await sb.auth.refreshSession({ refresh_token: refreshed.data.session?.refresh_token as string })
    expect(replay.error).toMatchObject({ status: 400, code: 'refresh_token_not_found' })
    const stats = await lab.stats()
    expect(stats.requests['POST /auth/v1/logout']).toEqual({ '204': 1 })
    expect(stats.reuseDetected).toBe(0)
  })

  it('autoRefreshToken: with an access TTL under its 90 s margin, its tick refreshes once, and the lab counts one refresh', async () => {
    await lab.configure({ accessTtl: '60s' })
    const storage = memoryStorage()
    const sb = client(storage, { autoRefreshToken: true })
    const session = await signIn(sb)
    const refreshed = nextEvent(sb, 'TOKEN_REFRESHED')
    // Restarting the ticker runs its first tick at once rather than up to 30 s of real time later.
    await sb.auth.startAutoRefresh()
    await refreshed
    await sb.auth.stopAutoRefresh()
    expect((await lab.stats()).refresh).toMatchObject({ calls: 1, succeeded: 1, graceReuses: 0 })
    expect((await lab.stats()).reuseDetected).toBe(0)
    expect(storedRefreshToken(storage)).not.toBe(session.refresh_token)
    expect((await sb.auth.getUser()).error).toBeNull()
  })

  it('autoRefreshToken follows the device clock: a 15-minute token is not refreshed on a tick, and an expiry by the lab only fails its calls', async () => {
    const storage = memoryStorage()
    const ticks: string[] = []
    const sb = client(storage, {
      autoRefreshToken: true,
      debug: (_prefix, where, what) => {
        if (where === '#_autoRefreshTokenTick()' && what === 'end') ticks.push('end')
      },
    })
    await signIn(sb)
    const ticked = ticks.length
    await sb.auth.startAutoRefresh()
    await expect.poll(() => ticks.length, { timeout: 10_000 }).toBeGreaterThan(ticked)
    await sb.auth.stopAutoRefresh()
    expect((await lab.stats()).refresh.calls).toBe(0)

    // The lab kills the access token; supabase-js gets 403 bad_jwt and does not refresh on it.
    await lab.expire({ tokens: 'access' })
    const { error } = await sb.auth.getUser()
    expect(error).toMatchObject({ name: 'AuthApiError', status: 403, code: 'bad_jwt' })
    expect((await lab.stats()).refresh.calls).toBe(0)
    expect(storedRefreshToken(storage)).toBeDefined() // still signed in, as far as the client knows
    // An explicit refresh recovers.
    expect((await sb.auth.refreshSession()).error).toBeNull()
    expect((await sb.auth.getUser()).error).toBeNull()
  })

  it('a refresh answer lost after the server rotated: supabase-js retries the same token, which the grace forgives and no grace punishes', async () => {
    const storage = memoryStorage()
    const sb = client(storage)
    const first = await signIn(sb)
    // The route runs (the token rotates), then the connection closes: the answer never arrives.
    await lab.fault({ path: '/auth/v1/token', dropAfter: true, times: 1 })
    // auth-js retries a network error after 200 ms (its own backoff), with the token it sent.
    const recovered = await sb.auth.refreshSession()
    expect(recovered.error).toBeNull()
    expect(recovered.data.session?.refresh_token).not.toBe(first.refresh_token)
    let stats = await lab.stats()
    expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 2, graceReuses: 1 })
    expect(stats.reuseDetected).toBe(0)

    await lab.reset()
    await lab.configure({ reuseGrace: '0s' })
    const lost = client(memoryStorage())
    await signIn(lost)
    await lab.fault({ path: '/auth/v1/token', dropAfter: true, times: 1 })
    const punished = await lost.auth.refreshSession()
    expect(punished.error).toMatchObject({ name: 'AuthApiError', code: 'refresh_token_already_used' })
    stats = await lab.stats()
    expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 1, rejectedByCode: { REFRESH_TOKEN_REUSED: 1 } })
    expect(stats.reuseDetected).toBe(1)
  })

  describe('two clients sharing one storage refresh at the same moment (two tabs, or a tab and a server)', () => {
    async function race() {
      const storage = memoryStorage()
      const [a, b] = [client(storage), client(storage)]
      const session = await signIn(a)
      // b reads the session a saved; both now refresh with the same token at once.
      const results = await Promise.all([a.auth.refreshSession(), b.auth.refreshSession()])
      return { storage, a, b, session, errors: results.map((r) => r.error) }
    }

    it("under GoTrue's grace: the second spends the first's parent, gets the same child, and nobody is signed out", async () => {
      const { storage, a, b, errors } = await race()
      const stats = await lab.stats()
      expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 2, rejected: 0, graceReuses: 1 })
      expect(stats.reuseDetected).toBe(0)
      // The slower one may drop its answer because the storage changed under it (auth-js's commit
      // guard); that is not an API error, and the token it dropped is the one already stored.
      for (const error of errors) expect(error === null || error.name === 'AuthRefreshDiscardedError').toBe(true)
      const [session] = await lab.sessions()
      expect(session).toMatchObject({ status: 'active', generation: 2 })
      expect((await a.auth.getUser()).error).toBeNull()
      expect((await b.auth.getUser()).error).toBeNull()
      // What both hold is the live token: the next refresh rotates it.
      const stored = storedRefreshToken(storage)
      expect((await a.auth.refreshSession()).error).toBeNull()
      expect(storedRefreshToken(storage)).not.toBe(stored)
      expect((await lab.stats()).refresh).toMatchObject({ calls: 3, succeeded: 3, graceReuses: 1 })
    })

    it('without a grace: "Invalid Refresh Token: Already Used", the session revoked, and both signed out at the next call', async () => {
      await lab.configure({ reuseGrace: '0s' })
      const { storage, a, b, errors } = await race()
      const stats = await lab.stats()
      expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 1, rejected: 1, rejectedByCode: { REFRESH_TOKEN_REUSED: 1 } })
      expect(stats.reuseDetected).toBe(1)
      const apiErrors = errors.filter((error) => error?.name === 'AuthApiError')
      expect(apiErrors).toHaveLength(1)
      expect(apiErrors[0]).toMatchObject({
        status: 400,
        code: 'refresh_token_already_used',
        message: 'Invalid Refresh Token: Already Used',
      })
      expect((await lab.sessions()).map((s) => s.status)).toEqual(['revoked'])
      // The access token is still in date on the device, so auth-js kept the session; the next call
      // finds it gone on the server (session_not_found) and signs the client out.
      const next = await a.auth.getUser()
      expect(next.error?.name).toBe('AuthSessionMissingError')
      expect(storage.items.size).toBe(0)
      expect((await b.auth.getSession()).data.session).toBeNull()
    })
  })

  it('a stale copy two rotations old (a server that kept its own cookie): GoTrue revokes where --grace-returns existing would forgive', async () => {
    const shared = memoryStorage()
    const a = client(shared)
    const session = await signIn(a)
    const stale = memoryStorage()
    stale.items.set(STORAGE_KEY, shared.items.get(STORAGE_KEY) as string)
    expect((await a.auth.refreshSession()).error).toBeNull()
    expect((await a.auth.refreshSession()).error).toBeNull()
    const b = client(stale)
    const replay = await b.auth.refreshSession()
    expect(replay.error).toMatchObject({ status: 400, code: 'refresh_token_already_used' })
    expect(storedRefreshToken(stale)).toBe(session.refresh_token)
    expect((await lab.stats()).reuseDetected).toBe(1)

    // The same two rotations and stale replay under `existing`: forgiven with the newest token.
    await lab.reset()
    await lab.configure({ reuseGrace: '10s', graceReturns: 'existing' })
    const c = client(memoryStorage())
    const again = await signIn(c)
    const staleAgain = memoryStorage()
    expect((await c.auth.refreshSession()).error).toBeNull()
    const newest = await c.auth.refreshSession()
    staleAgain.items.set(STORAGE_KEY, JSON.stringify({ ...again }))
    const forgiven = await client(staleAgain).auth.refreshSession()
    expect(forgiven.error).toBeNull()
    expect(forgiven.data.session?.refresh_token).toBe(newest.data.session?.refresh_token)
    expect((await lab.stats()).reuseDetected).toBe(0)
  })
})
