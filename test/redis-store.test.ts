import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CROSS_INSTANCE_SKEW_MS } from '../server/redis-lua.js'
import { COUNT_SLICE, REDIS_PREFIX, RedisLink, RedisStore } from '../server/redis-store.js'
import { hashToken } from '../server/store.js'
import { runCli, startServe, type ServeProcess } from './support/cli.js'
import { freePort, NO_REDIS_NOTE, REDIS_REQUIRED, REDIS_SERVER, removeRedis, startRedis, type RedisServer } from './support/redis.js'

/**
 * `--store redis://…`: three real `serve` processes on one real redis-server (test/support/redis.ts),
 * and a thousand concurrent refreshes of one token spread round-robin across them. Exactly one
 * rotation, whichever instance each call reaches, because the rotation is one Lua script.
 */
const describeWithRedis = REDIS_SERVER !== undefined || REDIS_REQUIRED ? describe : describe.skip
if (REDIS_SERVER === undefined && !REDIS_REQUIRED) console.warn(NO_REDIS_NOTE)

const CONCURRENCY = 1_000
// Single calls; each storm has its own pool, closed after it, so no storm reuses a socket a server
// may be closing at that moment (ECONNRESET on a loaded machine; see test/races.test.ts).
const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 })

interface Answer {
  status: number
  body: {
    data?: { access_token: string; refresh_token: string }
    error?: { code: string }
    sessions?: { id: string; status: string; generation: number; revokedReason?: string }[]
  } & Record<string, unknown>
}

async function call(url: string, path: string, body?: unknown, token?: string, through: Agent = dispatcher): Promise<Answer> {
  const res = await undiciFetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    dispatcher: through,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

function tally(answers: Answer[]): Record<string, number> {
  const byCode: Record<string, number> = {}
  for (const a of answers) {
    const key = a.status === 200 ? '200' : (a.body.error?.code ?? String(a.status))
    byCode[key] = (byCode[key] ?? 0) + 1
  }
  return byCode
}

let redis: RedisServer | undefined
let instances: ServeProcess[] = []
const urls = () => instances.map((instance) => instance.url)

const signIn = async (url: string) => (await call(url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body.data!
/** Every instance's view of the sessions: must be one and the same. */
async function sessionsEverywhere() {
  const views = await Promise.all(urls().map(async (url) => (await call(url, '/_lab/sessions')).body.sessions))
  for (const view of views.slice(1)) expect(view).toEqual(views[0])
  return views[0] ?? []
}
const storm = (token: string) =>
  Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) => call(urls()[i % urls().length]!, '/api/auth/refresh', { refresh_token: token })),
  )

describe('--store memory (the default)', () => {
  it('never loads ioredis: a server in memory does not pay for the Redis client', () => {
    // A process of its own, from the built package (the global setup builds dist/), so no other
    // test's import counts: CommonJS modules, ioredis among them, land in Node's require cache.
    const script = [
      "import { createRequire } from 'node:module'",
      "const { resolveServerConfig } = await import('./dist/server/config.js')",
      "const { startServer } = await import('./dist/server/start.js')",
      "const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))",
      'await server.close()',
      "console.log(Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('/ioredis/')).length)",
    ].join('\n')
    const cwd = fileURLToPath(new URL('..', import.meta.url))
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' }).trim()).toBe('0')
  })
})

describe('--store redis with no Redis there', () => {
  it('stops startup with one line naming the URL, exit 2', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`
    const result = await runCli(['serve', '--port', '0', '--store', url])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^refresh-lab: --store ${url}: cannot reach Redis \\(.*ECONNREFUSED`)),
    ])
  })
})

describeWithRedis('--store redis: three serve instances, one Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
    // No --secret: the cluster's random secret and refresh key are shared through Redis.
    // One --issuer, as behind a load balancer: an access token signed by one instance verifies on all.
    const flags = ['--store', redis.url, '--issuer', 'http://lab.test', '--request-timeout', '120s']
    instances = await Promise.all([startServe(flags), startServe(flags), startServe(flags)])
  })

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()))
    await removeRedis(redis)
    await dispatcher.close()
  })

  it('says which store it uses in the banner', () => {
    for (const instance of instances) expect(instance.banner).toContain(`store: ${redis!.url} (shared by every instance on it)`)
  })

  it(`no grace: of ${CONCURRENCY} concurrent refreshes across A, B and C exactly one rotates, one is the reuse that revokes, the rest find it revoked`, async () => {
    await call(urls()[0]!, '/_lab/reset', {})
    const { refresh_token } = await signIn(urls()[1]!)
    const counts = tally(await storm(refresh_token))
    expect(counts).toEqual({ '200': 1, REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: CONCURRENCY - 2 })
    const [session, ...others] = await sessionsEverywhere()
    expect(others).toEqual([])
    expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 2 })
  })

  it('grace by time: one rotation, every other call answered with the same child, on every instance', async () => {
    await call(urls()[2]!, '/_lab/reset', {})
    await call(urls()[0]!, '/_lab/config', { reuseGrace: '1h', reuseGraceCount: 0 })
    const { refresh_token } = await signIn(urls()[1]!)
    const answers = await storm(refresh_token)
    expect(tally(answers)).toEqual({ '200': CONCURRENCY })
    const children = new Set(answers.map((a) => a.body.data?.refresh_token))
    expect(children.size).toBe(1)
    expect(children.has(refresh_token)).toBe(false)
    const [session] = await sessionsEverywhere()
    expect(session).toMatchObject({ status: 'active', generation: 2 })
    // The child is live on every instance: it rotates once more.
    expect((await call(urls()[2]!, '/api/auth/refresh', { refresh_token: [...children][0] })).status).toBe(200)
  })

  it('grace by count: one rotation and exactly 10 grace answers, then the reuse revokes the family everywhere', async () => {
    await call(urls()[1]!, '/_lab/reset', {})
    await call(urls()[2]!, '/_lab/config', { reuseGrace: '0s', reuseGraceCount: 10 })
    const { refresh_token } = await signIn(urls()[0]!)
    const answers = await storm(refresh_token)
    expect(tally(answers)).toEqual({ '200': 11, REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: CONCURRENCY - 12 })
    expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.body.data?.refresh_token)).size).toBe(1)
    const [session] = await sessionsEverywhere()
    expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 2 })
  })

  it('grace by count answering new tokens: one rotation and 10 fresh tokens, each its own generation', async () => {
    await call(urls()[0]!, '/_lab/reset', {})
    await call(urls()[1]!, '/_lab/config', { reuseGrace: '0s', reuseGraceCount: 10, graceReturns: 'new' })
    const { refresh_token } = await signIn(urls()[2]!)
    const answers = await storm(refresh_token)
    expect(tally(answers)).toEqual({ '200': 11, REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: CONCURRENCY - 12 })
    expect(new Set(answers.filter((a) => a.status === 200).map((a) => a.body.data?.refresh_token)).size).toBe(11)
    const [session] = await sessionsEverywhere()
    expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 12 })
  })

  it("GoTrue's 'parent' grace across instances: the direct parent is forgiven anywhere, an older token revokes everywhere", async () => {
    const [a, b, c] = urls() as [string, string, string]
    await call(a, '/_lab/reset', {})
    await call(b, '/_lab/config', { reuseGrace: '1h', reuseGraceCount: 0, graceReturns: 'parent' })
    const rt0 = (await signIn(a)).refresh_token
    const rt1 = (await call(b, '/api/auth/refresh', { refresh_token: rt0 })).body.data!.refresh_token
    // RT0 is the direct parent of the newest token: C answers it with RT1.
    expect((await call(c, '/api/auth/refresh', { refresh_token: rt0 })).body.data?.refresh_token).toBe(rt1)
    const rt2 = (await call(c, '/api/auth/refresh', { refresh_token: rt1 })).body.data!.refresh_token
    expect(rt2).not.toBe(rt1)
    // RT0 is now two rotations old: a reuse, inside the grace or not, and the family is revoked on all three.
    expect((await call(a, '/api/auth/refresh', { refresh_token: rt0 })).body.error?.code).toBe('REFRESH_TOKEN_REUSED')
    const [session] = await sessionsEverywhere()
    expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 3 })
  })

  it("GoTrue's 'parent' grace: introspection on any instance agrees with what the token endpoint then does", async () => {
    const [a, b, c] = urls() as [string, string, string]
    await call(a, '/_lab/reset', {})
    await call(b, '/_lab/config', { reuseGrace: '1h', reuseGraceCount: 0, graceReturns: 'parent' })
    const active = async (url: string, token: string) =>
      (
        (await (
          await undiciFetch(`${url}/oauth/introspect`, { method: 'POST', dispatcher, body: new URLSearchParams({ token }) })
        ).json()) as {
          active: boolean
        }
      ).active
    const rt0 = (await signIn(a)).refresh_token
    const rt1 = (await call(b, '/api/auth/refresh', { refresh_token: rt0 })).body.data!.refresh_token
    const rt2 = (await call(c, '/api/auth/refresh', { refresh_token: rt1 })).body.data!.refresh_token
    // RT1, the direct parent of the newest token: active on A, and C answers it with RT2.
    expect(await active(a, rt1)).toBe(true)
    expect((await call(c, '/api/auth/refresh', { refresh_token: rt1 })).body.data?.refresh_token).toBe(rt2)
    // RT0, two rotations old: inactive on B, and A's token endpoint calls it a reuse.
    expect(await active(b, rt0)).toBe(false)
    expect((await call(a, '/api/auth/refresh', { refresh_token: rt0 })).body.error?.code).toBe('REFRESH_TOKEN_REUSED')
    expect(await active(c, rt2)).toBe(false)
  })

  it('keeps the scope an OAuth sign-in was granted on the shared family, so a refresh on another instance answers it', async () => {
    const [a, b] = urls() as [string, string]
    await call(a, '/_lab/reset', {})
    const form = (fields: Record<string, string>) =>
      undiciFetch(`${a}/oauth/token`, { method: 'POST', dispatcher, body: new URLSearchParams(fields) }).then(
        async (res) => (await res.json()) as { refresh_token: string; scope?: string; id_token?: string },
      )
    const signedIn = await form({ grant_type: 'password', username: 'demo@example.com', password: 'password', scope: 'openid profile' })
    expect(signedIn.scope).toBe('openid profile')
    const refreshed = await undiciFetch(`${b}/oauth/token`, {
      method: 'POST',
      dispatcher,
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: signedIn.refresh_token }),
    }).then(async (res) => (await res.json()) as { scope?: string; refresh_token?: string; id_token?: string })
    expect(refreshed).toMatchObject({ scope: 'openid profile' })
    expect(refreshed.refresh_token).toBeTypeOf('string')
    // The sign-in's auth_time is the family's, so the ID token B issues carries A's.
    const authTime = (idToken: string | undefined) =>
      (JSON.parse(Buffer.from(idToken?.split('.')[1] ?? '', 'base64url').toString()) as { auth_time?: unknown }).auth_time
    expect(authTime(refreshed.id_token)).toBeTypeOf('number')
    expect(authTime(refreshed.id_token)).toBe(authTime(signedIn.id_token))
  })

  it('a reuse presented to B of a token rotated on A revokes the family on A, B and C, access tokens included', async () => {
    const [a, b, c] = urls() as [string, string, string]
    await call(a, '/_lab/reset', {})
    const first = await signIn(a)
    const second = (await call(a, '/api/auth/refresh', { refresh_token: first.refresh_token })).body.data!
    // The access token A signed verifies on C (the cluster shares its secret) while the session lives.
    expect((await call(c, '/api/auth/me', undefined, second.access_token)).status).toBe(200)
    expect((await call(b, '/api/auth/refresh', { refresh_token: first.refresh_token })).body.error?.code).toBe('REFRESH_TOKEN_REUSED')
    expect((await call(c, '/api/auth/refresh', { refresh_token: second.refresh_token })).body.error?.code).toBe('REFRESH_TOKEN_REVOKED')
    for (const url of [a, b, c])
      expect((await call(url, '/api/auth/me', undefined, second.access_token)).body.error?.code).toBe('TOKEN_REVOKED')
    const [session] = await sessionsEverywhere()
    expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 2 })
  })

  it('shares the counters and the event log: /_lab/stats and /_lab/events are the same on every instance', async () => {
    const [a, b, c] = urls() as [string, string, string]
    await call(b, '/_lab/reset', {})
    const first = await signIn(a)
    const second = (await call(b, '/api/auth/refresh', { refresh_token: first.refresh_token })).body.data!
    await call(c, '/api/auth/refresh', { refresh_token: first.refresh_token }) // the reuse
    await call(a, '/api/auth/refresh', { refresh_token: second.refresh_token }) // revoked
    const stats = await Promise.all(urls().map(async (url) => (await call(url, '/_lab/stats')).body))
    expect(stats[1]).toEqual(stats[0])
    expect(stats[2]).toEqual(stats[0])
    expect(stats[0]).toMatchObject({
      logins: 1,
      reuseDetected: 1,
      familiesRevoked: 1,
      refresh: { calls: 3, succeeded: 1, rejected: 2, rejectedByCode: { REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: 1 } },
      requests: { 'POST /api/auth/login': { '200': 1 }, 'POST /api/auth/refresh': { '200': 1, '401': 2 } },
    })
    const logs = await Promise.all(urls().map(async (url) => (await call(url, '/_lab/events')).body))
    expect(logs[1]).toEqual(logs[0])
    expect(logs[2]).toEqual(logs[0])
    const types = (logs[0]!['events'] as { type: string }[]).map((event) => event.type)
    expect(types.filter((type) => type !== 'request')).toEqual(['reset', 'login', 'refresh', 'reuse_detected', 'refresh'])
  })

  it('shares the lab clock, live settings and registered users', async () => {
    const [a, b, c] = urls() as [string, string, string]
    await call(c, '/_lab/reset', {})
    const moved = (await call(a, '/_lab/clock', { advance: '2h' })).body
    await call(b, '/_lab/config', { accessTtl: '42s' })
    expect((await call(c, '/api/auth/register', { email: 'ada@example.com', password: 'secret-secret' })).status).toBe(201)
    // The bus is asynchronous: each instance follows within moments (bounded wait, not a timing condition).
    for (const url of urls()) {
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const clock = (await call(url, '/_lab/clock')).body
        const config = (await call(url, '/_lab/config')).body
        if (clock['offsetMs'] === moved['offsetMs'] && config['accessTtlMs'] === 42_000) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect((await call(url, '/_lab/clock')).body['offsetMs']).toBe(moved['offsetMs'])
      expect((await call(url, '/_lab/config')).body).toMatchObject({ accessTtlMs: 42_000 })
      expect((await call(url, '/api/auth/login', { email: 'ada@example.com', password: 'secret-secret' })).status).toBe(200)
    }
    // A reset on one instance is a reset of the cluster.
    await call(a, '/_lab/reset', {})
    for (const url of urls()) {
      for (let attempt = 0; attempt < 100; attempt += 1) {
        if ((await call(url, '/_lab/clock')).body['offsetMs'] === 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect((await call(url, '/_lab/clock')).body['offsetMs']).toBe(0)
      expect((await call(url, '/api/auth/login', { email: 'ada@example.com', password: 'secret-secret' })).status).toBe(401)
    }
  })

  it("streams every instance's events to a lab page open on any one of them", async () => {
    const [a, , c] = urls() as [string, string, string]
    await call(a, '/_lab/reset', {})
    const controller = new AbortController()
    const res = await undiciFetch(`${c}/_lab/events/stream`, { dispatcher, signal: controller.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    const first = await reader.read() // the backlog (the reset), so the page is subscribed
    text += new TextDecoder().decode(first.value)
    await signIn(a)
    for (let reads = 0; reads < 50 && !/"type":"login"/.test(text); reads += 1) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    expect(text).toMatch(/"type":"reset"/)
    expect(text).toMatch(/"type":"login"/)
  })
})

describeWithRedis('RedisStore.rotate: a replay whose instance took `now` before the rotation reached Redis', () => {
  const link = redisLinkForTests()

  it(`counts up to ${CROSS_INSTANCE_SKEW_MS} ms before the rotation as concurrent with it; further back, the clock was set back`, async () => {
    const T0 = 1_800_000_000_000
    const store = new RedisStore(link(), {
      refreshTtlMs: 3_600_000,
      sessionTtlMs: 86_400_000,
      reuseGraceMs: 10_000,
      reuseGraceCount: 0,
      graceReturns: 'existing',
    })
    await store.loadKey()
    const login = await store.createFamily('usr_1', T0)
    expect((await store.rotate(login.token, T0 + 5_000)).kind).toBe('rotated')
    // Sent 5 ms "before" the rotation by an instance whose queue flushed late: inside the grace.
    expect((await store.rotate(login.token, T0 + 4_995)).kind).toBe('grace')
    // Two seconds before: the lab clock was set back, and that is no grace.
    expect((await store.rotate(login.token, T0 + 3_000)).kind).toBe('reuse')
  })
})

describeWithRedis('RedisStore: Redis expires the records by their TTLs, and bounds the index sets', () => {
  const link = redisLinkForTests()

  const T0 = 1_800_000_000_000
  const settings = (sessionTtlMs: number) => ({
    refreshTtlMs: 100,
    sessionTtlMs,
    reuseGraceMs: 0,
    reuseGraceCount: 0,
    graceReturns: 'existing' as const,
  })
  /** A store whose records outlive their lab expiry by `retainMs` of real time (an hour in a server). */
  async function storeWith(sessionTtlMs: number, retainMs: number) {
    const store = new RedisStore(link(), settings(sessionTtlMs), retainMs)
    await store.loadKey()
    return store
  }
  const client = () => link().client
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it('gives every record of a sign-in and a rotation a TTL, and Redis drops them all with no sweep', async () => {
    await client().flushdb()
    const store = await storeWith(200, 100)
    const login = await store.createFamily('usr_ttl', T0)
    const rotated = await store.rotate(login.token, T0 + 10)
    expect(rotated.kind).toBe('rotated')
    const id = login.family.id
    const keys = [
      `${REDIS_PREFIX}s:f:${id}`,
      `${REDIS_PREFIX}s:t:${hashToken(login.token)}`,
      `${REDIS_PREFIX}s:t:${hashToken((rotated as { token: string }).token)}`,
      `${REDIS_PREFIX}s:ft:${id}`,
      `${REDIS_PREFIX}s:uf:usr_ttl`,
    ]
    const ttls = await Promise.all(keys.map((key) => client().pttl(key)))
    for (const [index, ttl] of ttls.entries()) expect(ttl, keys[index]).toBeGreaterThan(0)
    // Session 200 ms + retained 100 ms: everything is due within 300 ms of real time.
    await sleep(Math.max(...ttls) + 50)
    expect(await Promise.all(keys.map((key) => client().exists(key)))).toEqual(keys.map(() => 0))
    // Only the set of every family still names it, until a count prunes it.
    expect(await client().keys(`${REDIS_PREFIX}s:*`)).toEqual([`${REDIS_PREFIX}s:fams`])
    expect(await store.counts()).toEqual({ families: 0, tokens: 0 })
    expect(await client().exists(`${REDIS_PREFIX}s:fams`)).toBe(0)
  })

  it("keeps a user's set of families near its live ones: each sign-in drops dead members, and a revocation keeps it listed", async () => {
    await client().flushdb()
    const set = `${REDIS_PREFIX}s:uf:usr_many`
    const lasting = await storeWith(3_600_000, 3_600_000)
    await lasting.createFamily('usr_many', T0)
    const brief = await storeWith(1, 300)
    await Promise.all(Array.from({ length: 100 }, (_, i) => brief.createFamily('usr_many', T0 + i)))
    expect(await client().scard(set)).toBe(101)
    await sleep(400) // the 100 brief families' records are gone
    for (let i = 0; i < 40; i += 1) await lasting.createFamily('usr_many', T0 + 1_000 + i)
    // 41 live. Without pruning 141; with 8 random members checked per sign-in, a handful of dead at
    // most (a simulation of this sequence left at most 1 in 200 000 runs).
    const size = await client().scard(set)
    expect(size).toBeGreaterThanOrEqual(41)
    expect(size).toBeLessThanOrEqual(51)
    expect(await lasting.families('usr_many')).toHaveLength(41)

    // A revocation holds the family an hour from now, which can outlast the set's own TTL.
    const revocable = await storeWith(1, 300)
    const alone = await revocable.createFamily('usr_alone', T0)
    await sleep(100)
    expect(await revocable.revokeFamily(alone.family.id, 'logout', T0 + 2)).toBe(true)
    const [familyTtl, setTtl] = await Promise.all([
      client().pttl(`${REDIS_PREFIX}s:f:${alone.family.id}`),
      client().pttl(`${REDIS_PREFIX}s:uf:usr_alone`),
    ])
    expect(familyTtl).toBeGreaterThan(200)
    expect(setTtl).toBeGreaterThanOrEqual(familyTtl - 20)
  })

  it(`counts and prunes the set of every family in slices of about ${COUNT_SLICE}, one script each`, async () => {
    await client().flushdb()
    const brief = await storeWith(1, 50)
    await Promise.all(Array.from({ length: 3 * COUNT_SLICE }, (_, i) => brief.createFamily(`usr_${i}`, T0)))
    const lasting = await storeWith(3_600_000, 3_600_000)
    const live = await Promise.all(Array.from({ length: COUNT_SLICE }, (_, i) => lasting.createFamily(`usr_live_${i}`, T0)))
    await Promise.all(live.slice(0, 10).map((login) => lasting.rotate(login.token, T0 + 1)))
    await sleep(150)
    await client().config('RESETSTAT')
    expect(await lasting.counts()).toEqual({ families: COUNT_SLICE, tokens: COUNT_SLICE + 10 })
    // One SSCAN per script (Redis counts the commands scripts run): a whole walk in one script is one.
    const scans = /cmdstat_sscan:calls=(\d+)/.exec(await client().info('commandstats'))?.[1]
    expect(Number(scans)).toBeGreaterThanOrEqual(3)
    expect(await client().scard(`${REDIS_PREFIX}s:fams`)).toBe(COUNT_SLICE)
  })
})

/** A Redis of the describe's own and a link to it, from before its first test to after its last. */
function redisLinkForTests(): () => RedisLink {
  let server: RedisServer | undefined
  let link: RedisLink | undefined
  beforeAll(async () => {
    server = await startRedis()
    link = new RedisLink(server.url)
    await link.start()
  })
  afterAll(async () => {
    link?.close()
    await removeRedis(server)
  })
  return () => link as RedisLink
}
