import type { Context, Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { LabEvent } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import type { Lab } from '../lab.js'
import { LAB_PAGE_HTML } from './lab-page-html.js'

/** Events waiting to be written to one page before it counts as gone. */
const MAX_QUEUED = 1_000

/** The live lab page at `/_lab/`, and the Server-Sent Events stream that feeds it. */
export function registerLabPage(app: Hono<AuthedEnv>, lab: Lab): void {
  const page = (c: Context) =>
    c.html(LAB_PAGE_HTML, 200, {
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
    })
  app.get('/_lab/', page)
  app.get('/_lab', page)

  // The event log, live: the backlog after Last-Event-ID (a reconnect resumes where it stopped), then each event as it happens.
  app.get('/_lab/events/stream', (c) =>
    streamSSE(c, async (stream) => {
      const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0
      const send = (event: LabEvent) => stream.writeSSE({ id: String(event.id), event: 'lab', data: JSON.stringify(event) })
      for (const event of lab.events.since(after).events) await send(event)
      let ended!: () => void
      const done = new Promise<void>((resolve) => (ended = resolve))
      // One write at a time, in order. A page that stops reading is cut off rather than buffered
      // without end; its EventSource reconnects and resumes from its Last-Event-ID.
      let queue = Promise.resolve()
      let waiting = 0
      const unsubscribe = lab.events.subscribe(
        (event) => {
          if (waiting >= MAX_QUEUED) return ended()
          waiting += 1
          queue = queue.then(() => send(event)).catch(() => ended()).finally(() => (waiting -= 1))
        },
        () => ended(),
      )
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), 15_000)
      stream.onAbort(() => ended())
      await done
      clearInterval(heartbeat)
      unsubscribe()
    }),
  )
}
