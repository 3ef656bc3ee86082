import { describe, expect, it } from 'vitest'
import { startServe } from './support/cli.js'

describe('graceful shutdown', () => {
  it('on SIGTERM, finishes the request in flight, refuses new connections, and exits 0', async () => {
    const serve = await startServe()
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${serve.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      })
    const { data } = (await (await post('/api/auth/login', { email: 'demo@example.com', password: 'password' })).json()) as { data: { access_token: string } }
    await post('/_lab/faults', { path: '/api/users', delay: '1s' })
    const inFlight = fetch(`${serve.url}/api/users`, { headers: { authorization: `Bearer ${data.access_token}`, connection: 'close' } })
    await new Promise((resolve) => setTimeout(resolve, 200)) // the request has reached the server and waits in the fault
    const stopped = serve.stop('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 100))
    const late = await fetch(`${serve.url}/api/users`).then(
      (res) => res.status,
      (error: Error) => (error.cause as { code?: string }).code,
    )
    expect(late).toBe('ECONNREFUSED')
    const answer = await inFlight
    expect(answer.status).toBe(200)
    const result = await stopped
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('SIGTERM received, closing')
  })
})
