import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServe, type ServeProcess } from './support/cli.js'
import { NO_REDIS_NOTE, REDIS_REQUIRED, REDIS_SERVER, removeRedis, startRedis, type RedisServer } from './support/redis.js'

/**
 * `--store redis://…` when things break: Redis killed and back (its append-only file on), and a
 * `serve` instance killed with SIGKILL in the middle of a burst. Nothing acknowledged is lost.
 */
const describeWithRedis = REDIS_SERVER !== undefined || REDIS_REQUIRED ? describe : describe.skip
if (REDIS_SERVER === undefined && !REDIS_REQUIRED) console.warn(NO_REDIS_NOTE)

const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 })

interface Answer {
  status: number
  body: {
    data?: { access_token: string; refresh_token: string }
    error?: { code: string }
    sessions?: { id: string; status: string; generation: number }[]
  }
}

async function call(url: string, path: string, body?: unknown): Promise<Answer> {
  const res = await undiciFetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

const signIn = async (url: string) => (await call(url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body.data!
const refresh = (url: string, token: string) => call(url, '/api/auth/refresh', { refresh_token: token })
const sessionsOn = async (url: string) =>
  new Map(((await call(url, '/_lab/sessions')).body.sessions ?? []).map((s) => [s.id, { status: s.status, generation: s.generation }]))
const familyOf = (accessToken: string) =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string }).sid

let redis: RedisServer | undefined
const flags = () => ['--store', redis!.url, '--issuer', 'http://lab.test', '--request-timeout', '120s']

describeWithRedis('--store redis: failures', () => {
  beforeAll(async () => {
    // appendonly with fsync on every write: what Redis acknowledged is on disk.
    redis = await startRedis({ appendonly: true })
  })

  afterAll(async () => {
    await removeRedis(redis)
    await dispatcher.close()
  })

  it('Redis killed: 503 STORE_UNAVAILABLE and no rotation; back from its append-only file: every acknowledged rotation kept', async () => {
    const [a, b] = await Promise.all([startServe(flags()), startServe(flags())])
    try {
      await call(a.url, '/_lab/reset', {})
      const newest = new Map<string, string>()
      for (let i = 0; i < 20; i += 1) {
        let tokens = await signIn(a.url)
        for (let step = 0; step < 5; step += 1) {
          const answer = await refresh(step % 2 === 0 ? b.url : a.url, tokens.refresh_token)
          expect(answer.status).toBe(200)
          tokens = answer.body.data!
        }
        newest.set(familyOf(tokens.access_token), tokens.refresh_token)
      }

      await redis!.stop('SIGKILL')
      const [first] = [...newest.values()]
      const down = await refresh(a.url, first!)
      expect(down).toMatchObject({ status: 503, body: { error: { code: 'STORE_UNAVAILABLE' } } })
      expect((await call(b.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).status).toBe(503)

      await redis!.restart()
      // ioredis reconnects within a second; bounded wait for each instance to answer again.
      for (const url of [a.url, b.url]) {
        for (let attempt = 0; attempt < 200; attempt += 1) {
          if ((await call(url, '/_lab/sessions')).status === 200) break
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      const viewA = await sessionsOn(a.url)
      expect(await sessionsOn(b.url)).toEqual(viewA)
      expect(viewA.size).toBe(20)
      for (const family of newest.keys()) expect(viewA.get(family)).toEqual({ status: 'active', generation: 6 })
      // The token refused while Redis was away was not rotated: it rotates now, as does every newest one.
      for (const token of newest.values()) expect((await refresh(b.url, token)).status).toBe(200)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('kill -9 of one of three instances mid-burst: the others and a restarted one agree on every acknowledged rotation', async () => {
    let instances: ServeProcess[] = await Promise.all([startServe(flags()), startServe(flags()), startServe(flags())])
    const victim = instances[2]!
    try {
      await call(instances[0]!.url, '/_lab/reset', {})
      // A grace, as clients that retry after a lost answer need: the retry of a token whose rotation
      // died unanswered with the victim gets the child it already has.
      await call(instances[0]!.url, '/_lab/config', { reuseGrace: '1h' })
      const alive = new Set(instances.map((instance) => instance.url))
      const SESSIONS = 40
      const STEPS = 15
      let acknowledged = 0
      let killed = false
      // Refreshes sent to the victim and not yet answered, and how many of them the kill caught.
      let pendingOnVictim = 0
      let pendingAtKill = 0
      const runSession = async (index: number) => {
        let tokens = await signIn(instances[index % 2]!.url)
        for (let step = 0; step < STEPS; step += 1) {
          let answer: Answer | undefined
          for (let attempt = 0; attempt < 6 && answer?.status !== 200; attempt += 1) {
            const urls = [...alive]
            const url = urls[(index + step + attempt) % urls.length]!
            const toVictim = url === victim.url
            if (toVictim) pendingOnVictim += 1
            try {
              answer = await refresh(url, tokens.refresh_token)
            } catch {
              alive.delete(url) // the victim: its connections are gone
            } finally {
              if (toVictim) pendingOnVictim -= 1
            }
          }
          expect(answer?.status).toBe(200)
          tokens = answer!.body.data!
          acknowledged += 1
          if (!killed && acknowledged >= (SESSIONS * STEPS) / 3) {
            killed = true
            pendingAtKill = pendingOnVictim
            victim.child.kill('SIGKILL')
          }
        }
        return familyOf(tokens.access_token)
      }
      const families = await Promise.all(Array.from({ length: SESSIONS }, (_, index) => runSession(index)))
      expect(killed).toBe(true)
      // The kill was mid-burst: refreshes were on their way to, or inside, the victim.
      expect(pendingAtKill).toBeGreaterThan(0)
      expect(acknowledged).toBe(SESSIONS * STEPS)

      const restarted = await startServe(flags())
      instances = [instances[0]!, instances[1]!, restarted]
      const views = await Promise.all(instances.map((instance) => sessionsOn(instance.url)))
      expect(views[1]).toEqual(views[0])
      expect(views[2]).toEqual(views[0])
      // Every acknowledged step moved its session exactly one generation: nothing lost, nothing twice.
      for (const family of families) expect(views[0]!.get(family)).toEqual({ status: 'active', generation: 1 + STEPS })
    } finally {
      await Promise.all(
        instances.map((instance) => (instance.child.exitCode === null && instance.child.signalCode === null ? instance.stop() : undefined)),
      )
    }
  })
})
