import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCallBudget, createTabFetch, type CallEnd, type CallStart } from './recording-fetch.js'

let server: Server
let baseUrl: string
beforeAll(async () => {
  server = createServer(async (request, response) => {
    let body = ''
    for await (const chunk of request) body += chunk
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ method: request.method, url: request.url, ...(body === '' ? {} : { body }) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe('the tab fetch', () => {
  it("pools on the runtime's own undici Agent, not the undici package's", async () => {
    // In a fresh thread, as a tab is: in this one, another test file may have loaded the package
    // (test files share their worker's modules), and its Agent would then be the global one.
    const built = new URL('../../dist/src/harness/recording-fetch.js', import.meta.url).href
    const check = `
      const { runtimeAgentClass } = await import(${JSON.stringify(built)})
      const Agent = runtimeAgentClass()
      // Imported only now: the package installs its own Agent as the global dispatcher when none is.
      const { Agent: PackageAgent } = await import('undici')
      const installed = globalThis[Symbol.for('undici.globalDispatcher.1')]?.constructor
      require('node:worker_threads').parentPort.postMessage({ name: Agent.name, package: Agent === PackageAgent, installed: Agent === installed })`
    const worker = new Worker(`(async () => {${check}})()`, { eval: true })
    const [answer] = await once(worker, 'message')
    await worker.terminate()
    expect(answer).toEqual({ name: 'Agent', package: false, installed: true })
  })

  it('takes a string, a URL and a Request, and records each call with its status and refresh token', async () => {
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
        // The refresh token read from init's text, and the body still sent.
        tabFetch.fetch(`${baseUrl}/api/auth/refresh`, { method: 'POST', body: '{"refreshToken":"rt2"}' }),
        tabFetch.fetch(`${baseUrl}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt3' }),
        }),
        // The token endpoint takes JSON too (as Auth0 does): still a refresh.
        tabFetch.fetch(`${baseUrl}/oauth/token`, { method: 'POST', body: '{"grant_type":"refresh_token","refresh_token":"rt4"}' }),
      ])
      expect(await Promise.all(answers.map((answer) => answer.json()))).toEqual([
        { method: 'GET', url: '/a' },
        { method: 'DELETE', url: '/b' },
        { method: 'POST', url: '/api/auth/refresh', body: '{"refresh_token":"rt"}' },
        { method: 'POST', url: '/api/auth/refresh', body: '{"refreshToken":"rt2"}' },
        { method: 'POST', url: '/oauth/token', body: 'grant_type=refresh_token&refresh_token=rt3' },
        { method: 'POST', url: '/oauth/token', body: '{"grant_type":"refresh_token","refresh_token":"rt4"}' },
      ])
      // Recorded as each call starts: a body read from a clone starts later than the others.
      const recorded = calls.map(({ method, path, refresh, refreshToken, status }) => ({ method, path, refresh, refreshToken, status }))
      expect(recorded.sort((x, y) => (x.refreshToken ?? '').localeCompare(y.refreshToken ?? ''))).toEqual([
        { method: 'GET', path: '/a', refresh: false, refreshToken: undefined, status: 200 },
        { method: 'DELETE', path: '/b', refresh: false, refreshToken: undefined, status: 200 },
        { method: 'POST', path: '/api/auth/refresh', refresh: true, refreshToken: 'rt', status: 200 },
        { method: 'POST', path: '/api/auth/refresh', refresh: true, refreshToken: 'rt2', status: 200 },
        { method: 'POST', path: '/oauth/token', refresh: true, refreshToken: 'rt3', status: 200 },
        { method: 'POST', path: '/oauth/token', refresh: true, refreshToken: 'rt4', status: 200 },
      ])
    } finally {
      await tabFetch.close()
    }
  })
})
