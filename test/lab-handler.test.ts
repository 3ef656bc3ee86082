// Imports the package by its name, as a user's own test suite would, and routes the global fetch
// through MSW to the lab's in-process handler: nothing listens, nothing is mocked inside the lab.
import { http } from 'msw'
import { setupServer } from 'msw/node'
import { createLab, type InProcessLab, type LabStats } from 'refresh-lab'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

const LAB = 'http://localhost'
let lab: InProcessLab
let listenersBefore: number
const mocks = setupServer(http.all(`${LAB}/*`, ({ request }) => lab.fetch(request)))

/** Servers listening in this process: the handler must add none. */
function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap' || kind === 'PipeServerWrap').length
}

beforeAll(async () => {
  listenersBefore = listeningServers()
  lab = await createLab({ accessTtl: '30s' })
  // Anything msw does not route is an error: every answer below came from the handler.
  mocks.listen({ onUnhandledRequest: 'error' })
})
afterAll(async () => {
  mocks.close()
  await lab.stop()
})
beforeEach(async () => {
  await fetch(`${LAB}/_lab/reset`, { method: 'POST' })
})

function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${LAB}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

interface Pair {
  access_token: string
  refresh_token: string
}

describe('createLab behind msw', () => {
  it('signs in, expires by the lab clock, refreshes with rotation, catches a reuse, and counts it all, on no port', async () => {
    expect(lab.url).toBe(LAB)
    const login = await post('/api/auth/login', { email: 'demo@example.com', password: 'password' })
    expect(login.status).toBe(200)
    const first = ((await login.json()) as { data: Pair }).data
    const authed = (token: string) => fetch(`${LAB}/api/users`, { headers: { authorization: `Bearer ${token}` } })
    expect((await authed(first.access_token)).status).toBe(200)

    expect((await post('/_lab/clock', { advance: '35s' })).status).toBe(200)
    const expired = await authed(first.access_token)
    expect(expired.status).toBe(401)
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('TOKEN_EXPIRED')

    const refreshed = await post('/api/auth/refresh', { refresh_token: first.refresh_token })
    expect(refreshed.status).toBe(200)
    const second = ((await refreshed.json()) as { data: Pair }).data
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect((await authed(second.access_token)).status).toBe(200)

    const replayed = await post('/api/auth/refresh', { refresh_token: first.refresh_token })
    expect(replayed.status).toBe(401)
    expect(((await replayed.json()) as { error: { code: string } }).error.code).toBe('REFRESH_TOKEN_REUSED')

    const stats = (await (await fetch(`${LAB}/_lab/stats`)).json()) as LabStats
    expect(stats.logins).toBe(1)
    expect(stats.refresh).toMatchObject({ calls: 2, succeeded: 1, rejected: 1 })
    expect(stats.reuseDetected).toBe(1)
    expect(stats.lab.clockMoves).toBe(1)
    expect(listeningServers()).toBe(listenersBefore)
  })

  it('takes a path too, and keeps the /_lab Host rule: a name other than localhost is refused', async () => {
    expect((await lab.fetch('/_lab/stats')).status).toBe(200)
    const foreign = await lab.fetch(new Request('http://auth.test/_lab/stats'))
    expect(foreign.status).toBe(403)
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('HOST_NOT_ALLOWED')
  })

  it('gives the typed control startLab gives, through the handler: the clock, the counts, a reset', async () => {
    const login = await post('/api/auth/login', { email: 'demo@example.com', password: 'password' })
    const first = ((await login.json()) as { data: Pair }).data
    const authed = (token: string) => fetch(`${LAB}/api/users`, { headers: { authorization: `Bearer ${token}` } })

    // The access token lives 30 s: 35 s on the lab clock, and the client must refresh.
    const before = (await lab.lab.clock.now()).nowMs
    expect((await lab.lab.clock.advance('35s')).nowMs - before).toBeGreaterThanOrEqual(35_000)
    const expired = await authed(first.access_token)
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('TOKEN_EXPIRED')
    const refreshed = await post('/api/auth/refresh', { refresh_token: first.refresh_token })
    expect(refreshed.status).toBe(200)
    expect((await authed(((await refreshed.json()) as { data: Pair }).data.access_token)).status).toBe(200)

    const stats = await lab.lab.stats()
    expect(stats.logins).toBe(1)
    expect(stats.refresh).toMatchObject({ calls: 1, succeeded: 1, rejected: 0 })
    expect(stats.lab.clockMoves).toBe(1)
    expect(stats.requests['GET /api/users']).toEqual({ '200': 1, '401': 1 })
    expect(await lab.lab.sessions()).toHaveLength(1)

    await lab.lab.reset()
    expect(await lab.lab.sessions()).toEqual([])
    expect((await lab.lab.stats()).refresh.calls).toBe(0)
    // A reset forgets the session: the refreshed token's session is gone.
    expect((await post('/api/auth/refresh', { refresh_token: first.refresh_token })).status).toBe(401)
    expect(listeningServers()).toBe(listenersBefore)
  })

  it('rejects like fetch when a fault drops the connection', async () => {
    expect((await post('/_lab/faults', { path: '/api/auth/login', drop: true })).status).toBe(201)
    await expect(lab.fetch('/api/auth/login', { method: 'POST' })).rejects.toThrow(TypeError)
  })
})
