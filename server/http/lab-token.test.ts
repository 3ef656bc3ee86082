import { describe, expect, it } from 'vitest'
import { lab } from '../../test/support/app.js'

const TOKEN = 'a-lab-token-of-some-length'

describe('the lab token', () => {
  it('guards every /_lab route, and only those', async () => {
    const { call, login } = lab({ labToken: TOKEN })
    for (const path of ['/_lab/stats', '/_lab/events', '/_lab/clock', '/_lab/config', '/_lab/sessions']) {
      expect((await call('GET', path)).body.error.code).toBe('LAB_TOKEN_REQUIRED')
      expect((await call('GET', path, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401)
      expect((await call('GET', path, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200)
    }
    expect((await call('POST', '/_lab/reset')).status).toBe(401)
    const { access_token } = await login()
    expect((await call('GET', '/api/users', { token: access_token })).status).toBe(200)
  })
})

describe('CORS', () => {
  it('is off by default: no CORS headers on a preflight', async () => {
    const res = await lab().app.request('/api/auth/login', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:8081', 'access-control-request-method': 'POST' },
    })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('answers a preflight from an allowed origin, and not from another', async () => {
    const { app } = lab({ cors: ['http://localhost:8081'] })
    const preflight = (origin: string) =>
      app.request('/api/auth/refresh', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      })
    const allowed = await preflight('http://localhost:8081')
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:8081')
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST')
    const other = await preflight('https://evil.example')
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const actual = await app.request('/api/auth/login', {
      method: 'POST',
      headers: { origin: 'http://localhost:8081', 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
    })
    expect(actual.headers.get('access-control-allow-origin')).toBe('http://localhost:8081')
  })
})

describe('the lab page and its stream behind the lab token', () => {
  it('take the token as ?lab_token=, since EventSource cannot send headers', async () => {
    const { app } = lab({ labToken: TOKEN })
    expect((await app.request('/_lab/')).status).toBe(401)
    const page = await app.request(`/_lab/?lab_token=${TOKEN}`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toContain('<title>refresh-lab</title>')
    expect((await app.request('/_lab/events/stream?lab_token=wrong-token-wrong-token')).status).toBe(401)
    // The page's script, which a <script src> fetches without the token, holds nothing to guard.
    const script = await app.request('/_lab/ui/server/lab-page/page.js')
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toContain('text/javascript')
    expect((await app.request('/_lab/ui/server/lab-page/other.js')).status).toBe(404)
    // Never for a call that changes the lab: a token in a URL ends up in histories and logs.
    expect((await app.request(`/_lab/reset?lab_token=${TOKEN}`, { method: 'POST' })).status).toBe(401)
  })
})
