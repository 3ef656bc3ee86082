import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { lab } from '../../test/support/app.js'
import { resolveServerConfig } from '../config.js'
import { startServer } from '../start.js'
import { EventFeed, MAX_FRAME_EVENTS, sseBatchFrame, sseFrame } from './lab-page.js'

const STREAM = '/_lab/events/stream'

/** Reads a stream's frames until one holds `text`; the read waits for data, never for a time. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string): Promise<string> {
  const decoder = new TextDecoder()
  let seen = ''
  while (!seen.includes(text)) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`the stream ended before ${text}; it sent: ${seen}`)
    seen += decoder.decode(value, { stream: true })
  }
  return seen
}

describe('the live event stream', () => {
  it('sends the backlog, then each event as it happens, as Server-Sent Events', async () => {
    const { app, call } = lab()
    await call('POST', '/_lab/clock', { json: { advance: '1s' } })
    const res = await app.request(STREAM)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const backlog = await readUntil(reader, '"type":"clock"')
    expect(backlog).toContain('id: 1\n')
    expect(backlog).toContain('event: lab\n')
    await call('POST', '/_lab/revoke', { json: {} })
    expect(await readUntil(reader, '"type":"revoke"')).toContain('id: 2\n')
    await reader.cancel()
  })

  it('serialises an event once, whatever the number of streams: every stream writes the same bytes', () => {
    const event = { id: 7, at: '2026-01-01T00:00:00.000Z', type: 'reset' } as const
    expect(sseFrame(event)).toBe(sseFrame(event))
    expect(new TextDecoder().decode(sseFrame(event))).toBe(`id: 7\nevent: lab\ndata: ${JSON.stringify(event)}\n\n`)
  })

  it('with ?batch=1 sends every event queued in one frame: event "labs", an array, the last id', async () => {
    const { app, call } = lab()
    await call('POST', '/_lab/clock', { json: { advance: '1s' } })
    await call('POST', '/_lab/revoke', { json: {} })
    const res = await app.request(`${STREAM}?batch=1`)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const backlog = await readUntil(reader, '"type":"revoke"')
    const frame = /id: (\d+)\nevent: labs\ndata: (.*)\n\n/.exec(backlog)
    expect(frame?.[1]).toBe('2')
    expect((JSON.parse(frame?.[2] ?? '[]') as { type: string }[]).map((event) => event.type)).toEqual(['clock', 'revoke'])
    expect(backlog).not.toContain('event: lab\n')
    await call('POST', '/_lab/reset')
    expect(await readUntil(reader, '"type":"reset"')).toContain('id: 3\nevent: labs\ndata: [{')
    await reader.cancel()
    const bad = await app.request(`${STREAM}?batch=yes`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR')
  })

  it('a frame holds what queued, at most MAX_FRAME_EVENTS events, each serialised as its single frame is', async () => {
    const events = Array.from(
      { length: MAX_FRAME_EVENTS + 2 },
      (_, i) => ({ id: i + 1, at: '2026-01-01T00:00:00.000Z', type: 'reset' }) as const,
    )
    const feed = new EventFeed(events.slice(0, 2))
    for (const event of events.slice(2)) feed.push(event)
    expect((await feed.take())?.map((event) => event.id)).toEqual(events.slice(0, MAX_FRAME_EVENTS).map((event) => event.id))
    expect((await feed.take())?.map((event) => event.id)).toEqual([MAX_FRAME_EVENTS + 1, MAX_FRAME_EVENTS + 2])
    feed.end()
    expect(await feed.take()).toBeUndefined()
    // A page that stops reading: once MAX_QUEUED events wait on top of its backlog, its feed ends.
    const stalled = new EventFeed([])
    for (const event of events) stalled.push(event)
    expect(await stalled.take()).toBeUndefined()
    const pair = events.slice(0, 2)
    expect(sseBatchFrame(pair)).toBe(`id: 2\nevent: labs\ndata: [${pair.map((event) => JSON.stringify(event)).join(',')}]\n\n`)
  })

  it('on a socket, writes straight to the response: the same frames, batched or not, and a closed page frees its place', async () => {
    const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', maxEventStreams: '1' }, {}))
    try {
      // An empty log: the answer's head comes at once, not with the first event or keep-alive.
      const empty = await fetch(`${server.url}${STREAM}`)
      const emptyReader = (empty.body as ReadableStream<Uint8Array>).getReader()
      await fetch(`${server.url}/_lab/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      expect(new TextDecoder().decode((await emptyReader.read()).value)).toMatch(/^id: 1\nevent: lab\ndata: \{"id":1,.*"type":"revoke"/)
      await emptyReader.cancel()
      await fetch(`${server.url}/_lab/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"advance":"1s"}' })
      for (const [query, frame] of [
        // The backlog: the revoke (id 1), then the clock (id 2).
        ['', /^id: 1\nevent: lab\ndata: \{"id":1,.*"type":"revoke".*\}\n\nid: 2\nevent: lab\ndata: \{"id":2,.*"type":"clock".*\}\n\n$/],
        ['?batch=1', /^id: 2\nevent: labs\ndata: \[\{"id":1,.*"type":"revoke".*\},\{"id":2,.*"type":"clock".*\}\]\n\n$/],
      ] as const) {
        const controller = new AbortController()
        // The stream before it frees its place once the server sees its socket close: a moment later.
        const open = () => fetch(`${server.url}${STREAM}${query}`, { signal: controller.signal })
        let res = await open()
        for (let tries = 0; res.status === 503 && tries < 100; tries += 1) {
          await res.body?.cancel()
          await new Promise((resolve) => setTimeout(resolve, 20))
          res = await open()
        }
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toBe('text/event-stream')
        const reader = (res.body as ReadableStream<Uint8Array>).getReader()
        expect(await readUntil(reader, '"type":"clock"')).toMatch(frame)
        // With --max-event-streams 1, the next stream opens only once this one is gone (the 503s above).
        controller.abort()
      }
    } finally {
      await server.close()
    }
  })

  it('on a socket, keeps up with a page that reads while 1000 events come every turn of the event loop', async () => {
    const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
    const controller = new AbortController()
    try {
      const res = await fetch(`${server.url}${STREAM}?batch=1`, { signal: controller.signal })
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const event = { type: 'requestHandled', route: 'GET /api/users', status: 200, startMs: 0, endMs: 1 } as const
      // Faster than one frame per STREAM_BATCH_MS: a writer that waited out the window would let
      // more than 1000 pile up, and the page would be cut off as if it had stopped reading.
      for (let turn = 0; turn < 20; turn += 1) {
        for (let i = 0; i < 1000; i += 1) server.lab.emit(event)
        await new Promise((resolve) => setImmediate(resolve))
      }
      let text = ''
      const decoder = new TextDecoder()
      for (let reads = 0; reads < 10_000 && !text.includes('"id":20000,'); reads += 1) {
        const { value, done } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      expect(text).toContain('"id":20000,')
    } finally {
      controller.abort()
      await server.close(0)
    }
  })

  it('on a socket, pages that keep up share their frames, and a page that joins later still gets every event once, in order', async () => {
    const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
    const controller = new AbortController()
    const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]))
    const open = async () =>
      ((await fetch(`${server.url}${STREAM}`, { signal: controller.signal })).body as ReadableStream<Uint8Array>).getReader()
    const emit = (count: number) => {
      const event = { type: 'requestHandled', route: 'GET /api/users', status: 200, startMs: 0, endMs: 1 } as const
      for (let i = 0; i < count; i += 1) server.lab.emit(event)
    }
    try {
      const early = [await open(), await open(), await open()]
      emit(50)
      const first = await Promise.all(early.map((reader) => readUntil(reader, '"id":50,')))
      // The backlog (ids 1 to 50, new objects) and then what comes live, as the early pages get it.
      const late = await open()
      emit(50)
      const second = await Promise.all(early.map((reader) => readUntil(reader, '"id":100,')))
      const joined = await readUntil(late, '"id":100,')
      const one = Array.from({ length: 100 }, (_, i) => i + 1)
      for (const [index, text] of first.entries()) expect(ids(text + (second[index] as string))).toEqual(one)
      expect(ids(joined)).toEqual(one)
    } finally {
      controller.abort()
      await server.close(0)
    }
  })

  it('on a socket, cuts off a page that stopped reading once 1000 events wait for it, which frees its place', async () => {
    const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', maxEventStreams: '1' }, {}))
    const page = connect({ host: '127.0.0.1', port: server.port })
    try {
      await new Promise((resolve) => page.once('connect', resolve))
      page.write(`GET ${STREAM} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`)
      await new Promise((resolve) => page.once('data', resolve))
      page.pause() // a tab that stopped reading: the socket's buffers fill, then its queue
      // While it holds the one place, another page gets 503 (--max-event-streams 1).
      const another = await fetch(`${server.url}${STREAM}`)
      expect(another.status).toBe(503)
      await another.body?.cancel()
      const event = { type: 'requestHandled', route: 'GET /api/users', status: 200, startMs: 0, endMs: 1 } as const
      // Bounded: at most 200 000 events of about 150 bytes, 30 MB, far past any socket buffer.
      let reopened: Response | undefined
      for (let batch = 0; batch < 400 && reopened?.status !== 200; batch += 1) {
        for (let i = 0; i < 500; i += 1) server.lab.emit(event)
        await new Promise((resolve) => setImmediate(resolve))
        if (batch % 20 === 19) {
          await reopened?.body?.cancel()
          reopened = await fetch(`${server.url}${STREAM}`)
        }
      }
      expect(reopened?.status).toBe(200)
      await reopened?.body?.cancel()
      // The stalled page, once it reads again, finds its stream ended: its EventSource would reconnect.
      const ended = new Promise((resolve) => page.once('close', resolve))
      page.resume()
      await ended
    } finally {
      page.destroy()
      await server.close(0)
    }
  })

  it('refuses one stream past --max-event-streams with 503 TOO_MANY_SUBSCRIBERS, and takes one again once a page goes', async () => {
    const { app, call } = lab({ maxEventStreams: 2 })
    const open = [await app.request(STREAM), await app.request(STREAM)]
    expect(open.map((res) => res.status)).toEqual([200, 200])
    const refused = await app.request(STREAM)
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_SUBSCRIBERS')
    // The streams held still get what happens.
    const readers = open.map((res) => (res.body as ReadableStream<Uint8Array>).getReader())
    await call('POST', '/_lab/reset')
    for (const reader of readers) await readUntil(reader, '"type":"reset"')
    await readers[0]?.cancel()
    const again = await app.request(STREAM)
    expect(again.status).toBe(200)
    await again.body?.cancel()
    await readers[1]?.cancel()
  })
})
