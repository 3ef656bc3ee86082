import { describe, expect, it } from 'vitest'
import type { LabEvent } from '../src/shared/wire.js'
import { startServe } from './support/cli.js'

/**
 * The lab's event stream, read as the lab page reads it: `event` resolves with the first event that
 * matches, `ended` when the server closes the stream, which it does in the same step as it stops
 * listening (`closeSubscribers`, then `server.close`, in `server/start.ts`).
 */
async function watchEvents(url: string) {
  const res = await fetch(`${url}/_lab/events/stream`)
  if (!res.body) throw new Error('the event stream has no body')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const waiting: { match: (event: LabEvent) => boolean; resolve: (event: LabEvent) => void }[] = []
  const ended = (async () => {
    let buffer = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += value
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1]
        buffer = buffer.slice(end + 2)
        if (data === undefined) continue
        const event = JSON.parse(data) as LabEvent
        for (const waiter of waiting.filter((w) => w.match(event))) {
          waiting.splice(waiting.indexOf(waiter), 1)
          waiter.resolve(event)
        }
      }
    }
  })()
  const event = (match: (event: LabEvent) => boolean) => new Promise<LabEvent>((resolve) => waiting.push({ match, resolve }))
  return { event, ended }
}

describe('graceful shutdown', () => {
  it('on SIGTERM, finishes the request in flight, refuses new connections, and exits 0', async () => {
    const serve = await startServe()
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${serve.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      })
    const { data } = (await (await post('/api/auth/login', { email: 'demo@example.com', password: 'password' })).json()) as {
      data: { access_token: string }
    }
    await post('/_lab/faults', { path: '/api/users', delay: '1s' })
    const events = await watchEvents(serve.url)
    const held = events.event((event) => event.type === 'fault' && event.route === 'GET /api/users')
    const inFlight = fetch(`${serve.url}/api/users`, { headers: { authorization: `Bearer ${data.access_token}`, connection: 'close' } })
    await held // the request has reached the server and waits in the fault
    const stopped = serve.stop('SIGTERM')
    await events.ended // the server has stopped listening
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
