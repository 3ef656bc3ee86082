import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveServerConfig, type ServerFlags } from '../server/config.js'
import { startServer, type RunningServer } from '../server/start.js'
import type { Lab } from '../server/lab.js'
import type { RefreshStore } from '../server/store.js'

const memory = (lab: Lab) => lab.store as RefreshStore

/**
 * Rotation under contention over real sockets: a thousand refreshes with one token at once, a
 * few rounds each. The longer variant is scripts/race.mjs.
 */
const CONCURRENCY = 1_000
const ROUNDS = 3
// Idle sockets close on this side well before the server's 5 s keep-alive ends them, so no request is
// ever written to a socket the server is closing at that moment (ECONNRESET under load).
const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 })

async function withServer(flags: ServerFlags, body: (server: RunningServer) => Promise<void>) {
  // 1000 connections at once on a loaded machine may wait seconds to be read: no request timeout in the way.
  const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', requestTimeout: '120s', ...flags }, {}))
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

async function post(server: RunningServer, path: string, body: unknown, token?: string) {
  const res = await undiciFetch(`${server.url}${path}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  return {
    status: res.status,
    body: (await res.json()) as { data?: { access_token: string; refresh_token: string }; error?: { code: string } },
  }
}

const signIn = async (server: RunningServer) =>
  (await post(server, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body.data!

function tally(answers: { status: number; body: { error?: { code: string } } }[]) {
  const byCode: Record<string, number> = {}
  for (const a of answers) {
    const key = a.status === 200 ? '200' : (a.body.error?.code ?? String(a.status))
    byCode[key] = (byCode[key] ?? 0) + 1
  }
  return byCode
}

const storm = (server: RunningServer, refreshToken: string) =>
  Promise.all(Array.from({ length: CONCURRENCY }, () => post(server, '/api/auth/refresh', { refresh_token: refreshToken })))

afterAll(async () => {
  await dispatcher.close()
})

describe(`${CONCURRENCY} concurrent refreshes with one token`, () => {
  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
    'round %i, no grace: exactly one 200, one reuse detected, the family revoked',
    async () => {
      await withServer({}, async (server) => {
        const { refresh_token } = await signIn(server)
        const answers = await storm(server, refresh_token)
        const counts = tally(answers)
        expect(counts['200']).toBe(1)
        expect(counts['REFRESH_TOKEN_REUSED']).toBe(1)
        expect(counts['REFRESH_TOKEN_REVOKED']).toBe(CONCURRENCY - 2)
        const [session] = memory(server.lab).families()
        expect(session).toMatchObject({ status: 'revoked', revokedReason: 'reuse', generation: 2 })
        // The one winner's tokens died with the family.
        const winner = answers.find((a) => a.status === 200)!.body.data!
        expect((await post(server, '/api/auth/refresh', { refresh_token: winner.refresh_token })).body.error?.code).toBe(
          'REFRESH_TOKEN_REVOKED',
        )
      })
    },
  )

  it('with a 10 s grace: one rotation, every other call answered with the same child, the family active', async () => {
    await withServer({ reuseGrace: '10s' }, async (server) => {
      const { refresh_token } = await signIn(server)
      const answers = await storm(server, refresh_token)
      expect(tally(answers)).toEqual({ '200': CONCURRENCY })
      expect(new Set(answers.map((a) => a.body.data!.refresh_token)).size).toBe(1)
      expect(memory(server.lab).families()[0]).toMatchObject({ status: 'active', generation: 2 })
      expect(server.lab.counters.snapshot().refresh).toMatchObject({ succeeded: CONCURRENCY, graceReuses: CONCURRENCY - 1 })
    })
  })

  it('with a grace of 5 reuses: one rotation, five grace answers, then reuse detected and the family revoked', async () => {
    await withServer({ reuseGraceCount: '5' }, async (server) => {
      const { refresh_token } = await signIn(server)
      const counts = tally(await storm(server, refresh_token))
      expect(counts).toEqual({ '200': 6, REFRESH_TOKEN_REUSED: 1, REFRESH_TOKEN_REVOKED: CONCURRENCY - 7 })
      expect(memory(server.lab).families()[0]).toMatchObject({ status: 'revoked', revokedReason: 'reuse' })
    })
  })
})

describe('logout racing a refresh', () => {
  it('always ends revoked, and a refresh that won the race hands out tokens that no longer work (50 rounds)', async () => {
    await withServer({}, async (server) => {
      for (let round = 0; round < 50; round += 1) {
        const tokens = await signIn(server)
        const [refreshed, logout] = await Promise.all([
          post(server, '/api/auth/refresh', { refresh_token: tokens.refresh_token }),
          post(server, '/api/auth/logout', {}, tokens.access_token),
        ])
        expect([200, 401]).toContain(refreshed.status)
        expect([200, 401]).toContain(logout.status)
        const family = memory(server.lab).families().at(-1)
        expect(family?.status).toBe('revoked')
        if (refreshed.status === 200) {
          const next = refreshed.body.data!
          expect((await post(server, '/api/auth/refresh', { refresh_token: next.refresh_token })).body.error?.code).toBe(
            'REFRESH_TOKEN_REVOKED',
          )
          const me = await undiciFetch(`${server.url}/api/auth/me`, {
            dispatcher,
            headers: { authorization: `Bearer ${next.access_token}` },
          })
          expect(((await me.json()) as { error: { code: string } }).error.code).toBe('TOKEN_REVOKED')
        }
      }
    })
  })
})
