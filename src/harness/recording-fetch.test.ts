import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallBudget, createTabFetch, type CallEnd, type CallStart, runtimeAgentClass } from './recording-fetch.js'

let server: Server
let baseUrl: string
beforeAll(async () => {
  server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ method: request.method, url: request.url }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('the tab fetch', () => {
  it("pools on the runtime's own undici Agent, not the undici package's", async () => {
    const Agent = runtimeAgentClass()
    // Imported only now: the package installs its own Agent as the global dispatcher when none is.
    const { Agent: PackageAgent } = await import('undici')
    expect(Agent.name).toBe('Agent')
    expect(Agent).not.toBe(PackageAgent)
    expect(Agent).toBe((globalThis as Record<symbol, object>)[Symbol.for('undici.globalDispatcher.1')]?.constructor)
  })

  it('takes a string, a URL and a Request, and records each call with its status', async () => {
    const calls: Array<CallStart & Partial<CallEnd>> = []
    const tabFetch = createTabFetch({
      connections: 2,
      refreshPath: '/api/auth/refresh',
      budget: createCallBudget(),
      maxCalls: 10,
      sink: {
        start: (call) => calls.push({ ...call }) - 1,
        end: (key, end) => Object.assign(calls[key] as object, { status: end.status }),
      },
    })
    try {
      const answers = await Promise.all([
        tabFetch.fetch(`${baseUrl}/a`),
        tabFetch.fetch(new URL('/b', baseUrl), { method: 'DELETE' }),
        tabFetch.fetch(new Request(`${baseUrl}/api/auth/refresh`, { method: 'POST', body: '{"refresh_token":"rt"}' })),
      ])
      expect(await Promise.all(answers.map((answer) => answer.json()))).toEqual([
        { method: 'GET', url: '/a' },
        { method: 'DELETE', url: '/b' },
        { method: 'POST', url: '/api/auth/refresh' },
      ])
      expect(calls.map(({ method, path, refresh, refreshToken, status }) => ({ method, path, refresh, refreshToken, status }))).toEqual([
        { method: 'GET', path: '/a', refresh: false, refreshToken: undefined, status: 200 },
        { method: 'DELETE', path: '/b', refresh: false, refreshToken: undefined, status: 200 },
        { method: 'POST', path: '/api/auth/refresh', refresh: true, refreshToken: 'rt', status: 200 },
      ])
    } finally {
      await tabFetch.close()
    }
  })
})
