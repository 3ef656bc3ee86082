// Imports the package by its name, as a user's own test suite would, and routes the global fetch
// through MSW to the lab's in-process handler: nothing listens, nothing is mocked inside the lab.
import { http } from 'msw'
import { setupServer } from 'msw/node'
import { createLabHandler, type LabHandler, type LabStats } from 'refresh-lab'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

const LAB = 'http://localhost'
let lab: LabHandler
let listenersBefore: number
const mocks = setupServer(http.all(`${LAB}/*`, ({ request }) => lab.fetch(request)))

/** Servers listening in this process: the handler must add none. */
function listeningServers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap' || kind === 'PipeServerWrap').length
}

beforeAll(async () => {
  listenersBefore = listeningServers()
  lab = await createLabHandler({ accessTtl: '30s' })
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

describe('createLabHandler behind msw', () => {
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

  it('rejects like fetch when a fault drops the connection', async () => {
    expect((await post('/_lab/faults', { path: '/api/auth/login', drop: true })).status).toBe(201)
    await expect(lab.fetch('/api/auth/login', { method: 'POST' })).rejects.toThrow(TypeError)
  })
})
