import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lab } from '../../test/support/app.js'
import { resolveServerConfig } from '../config.js'
import { type RunningServer, startServer } from '../start.js'
import { isJsonMediaType } from './json-body.js'

describe('the Host rule of the lab API', () => {
  it.each(['localhost', 'localhost:4000', '127.0.0.1:4000', '127.9.9.9', '[::1]:4000', '192.168.1.5:4000', '[fe80::1]'])(
    'answers under %s (localhost and IP addresses: a rebinding attack always comes with a name)',
    async (host) => {
      const res = await lab().call('GET', '/_lab/stats', { headers: { host } })
      expect(res.status).toBe(200)
    },
  )

  it.each(['evil.example', 'evil.example:4000', 'localhost.evil.example', '127.0.0.1.nip.io', '[not-v6]:1', 'a:b:c'])(
    'refuses %s with 403 HOST_NOT_ALLOWED',
    async (host) => {
      const res = await lab().call('GET', '/_lab/sessions', { headers: { host } })
      expect(res).toMatchObject({ status: 403, body: { error: { code: 'HOST_NOT_ALLOWED' } } })
    },
  )

  it('answers under an --allowed-host name, any case and port, and only under those', async () => {
    const { call } = lab({ allowedHosts: ['mybox.local'] })
    expect((await call('GET', '/_lab/stats', { headers: { host: 'MyBox.local:4000' } })).status).toBe(200)
    expect((await call('GET', '/_lab/stats', { headers: { host: 'other.local:4000' } })).status).toBe(403)
  })

  it('answers under the name --host binds', async () => {
    const { call } = lab({ host: 'mybox.local', labToken: 'a-lab-token-of-some-length' })
    const headers = { host: 'mybox.local:4000', authorization: 'Bearer a-lab-token-of-some-length' }
    expect((await call('GET', '/_lab/stats', { headers })).status).toBe(200)
  })

  it('leaves the app under test alone: any Host reaches /api and /oauth', async () => {
    const { call } = lab()
    const res = await call('POST', '/api/auth/login', {
      json: { email: 'demo@example.com', password: 'password' },
      headers: { host: 'api.example.test' },
    })
    expect(res.status).toBe(200)
  })
})

describe('the Origin rule of the lab API', () => {
  it('takes a call from its own origin (the lab page) and from no origin at all (curl, the harness)', async () => {
    const { call } = lab()
    const headers = { host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000' }
    expect((await call('POST', '/_lab/clock', { json: { advance: '1s' }, headers })).status).toBe(200)
    expect((await call('POST', '/_lab/reset', { headers: { host: 'localhost' } })).status).toBe(200)
    expect((await call('POST', '/_lab/reset', { headers: { host: 'localhost:80', origin: 'http://localhost' } })).status).toBe(200)
  })

  it.each(['http://evil.example', 'null', 'http://127.0.0.1:4001', 'file:///tmp/x.html', 'https://127.0.0.1:4000x'])(
    'refuses a call from %s with 403 ORIGIN_NOT_ALLOWED',
    async (origin) => {
      const res = await lab().call('POST', '/_lab/reset', { headers: { host: '127.0.0.1:4000', origin } })
      expect(res).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } })
    },
  )
})

describe('--cors and the lab API', () => {
  it("applies to the app's routes, never to /_lab/*", async () => {
    const { app } = lab({ cors: ['*'] })
    const api = await app.request('/api/auth/login', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8081', 'access-control-request-method': 'POST' },
    })
    expect(api.headers.get('access-control-allow-origin')).toBe('*')
    const stats = await app.request('/_lab/stats')
    expect(stats.status).toBe(200)
    expect(stats.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await app.request('/_lab/clock', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8081', 'access-control-request-method': 'POST' },
    })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull()
  })
})

describe('the JSON media type rule', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON;charset=UTF-8', true],
    ['application/merge-patch+json', true],
    ['application/vnd.api+json; ext=x', true],
    [undefined, false],
    ['text/plain', false],
    ['text/plain; charset=utf-8', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
    ['application/jsonx', false],
    ['application/+json', false],
    ['text/json', false],
  ])('%s → %s', (type, ok) => {
    expect(isJsonMediaType(type)).toBe(ok)
  })

  it('takes a body declared application/*+json with a charset', async () => {
    const { call } = lab()
    const res = await call('POST', '/_lab/clock', {
      body: '{"advance":"5s"}',
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    })
    expect(res.status).toBe(200)
  })

  it('still takes OAuth form bodies (RFC 6749) at /oauth/token', async () => {
    const res = await lab().call('POST', '/oauth/token', {
      form: { grant_type: 'password', username: 'demo@example.com', password: 'password' },
    })
    expect(res.status).toBe(200)
  })
})

describe('on a real socket', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
  })
  afterAll(async () => {
    await server.close()
  })

  /** A request with the headers given as they are, Host included (fetch would set its own). */
  function send(path: string, headers: Record<string, string>, method = 'GET', body?: string) {
    return new Promise<{ status: number; code?: string | undefined }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error?: { code: string } }).error?.code }))
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it('refuses a rebound Host and a cross-site text/plain clock move, answers its own address', async () => {
    expect(await send('/_lab/sessions', { host: 'evil.example:4000' })).toEqual({ status: 403, code: 'HOST_NOT_ALLOWED' })
    expect(
      await send('/_lab/clock', { host: `127.0.0.1:${server.port}`, 'content-type': 'text/plain' }, 'POST', '{"advance":"3650d"}'),
    ).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
    expect(
      await send(
        '/_lab/clock',
        { host: `127.0.0.1:${server.port}`, origin: 'http://evil.example', 'content-type': 'application/json' },
        'POST',
        '{"advance":"1s"}',
      ),
    ).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' })
    expect((await send('/_lab/stats', { host: `127.0.0.1:${server.port}` })).status).toBe(200)
    expect(await server.lab.clock.offsetMs).toBe(0)
  })
})
