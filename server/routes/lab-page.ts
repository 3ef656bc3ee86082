import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Context, Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { ServerResponse } from 'node:http'
import { LAB_PAGE_ROUTES, type LabEvent } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import type { Lab } from '../lab.js'
import { LabError } from '../../src/shared/errors.js'

/** Events waiting to be written to one page before it counts as gone. */
const MAX_QUEUED = 1_000

/**
 * The page's script and the modules it imports, by their paths under `dist/`: served at
 * `/_lab/ui/<path>`, so the script's relative import resolves in the browser as it does on disk.
 */
const SCRIPTS = ['server/lab-page/page.js', 'src/shared/wire.js', 'src/shared/time-axis.js'] as const

interface LabPageFiles {
  html: string
  scripts: ReadonlyMap<string, string>
}

let files: LabPageFiles | undefined

/**
 * Reads the page once per process. From the package (dist/) the script is already compiled; from
 * a checkout run through tsx or vitest, it is compiled here with TypeScript, a devDependency there.
 */
function labPageFiles(): LabPageFiles {
  if (files) return files
  const root = pageRoot()
  const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
  const scripts = new Map<string, string>()
  for (const path of SCRIPTS) {
    const compiled = new URL(path, root)
    scripts.set(path, existsSync(compiled) ? read(path) : transpile(fileURLToPath(compiled).replace(/\.js$/, '.ts')))
  }
  files = { html: read('server/lab-page/index.html'), scripts }
  return files
}

/**
 * The folder holding `server/lab-page/`: dist/ in the package, whether this module is tsc's
 * dist/server/routes/ or the CLI's bundle in dist/cli/; the checkout's root under tsx or vitest.
 */
function pageRoot(): URL {
  for (let root = new URL('./', import.meta.url); ; ) {
    if (existsSync(new URL('server/lab-page/index.html', root))) return root
    const parent = new URL('../', root)
    // At the top (`/`, or `C:/` on Windows) the parent is the folder itself.
    if (parent.href === root.href) throw new Error('refresh-lab: cannot find the lab page (server/lab-page/index.html)')
    root = parent
  }
}

function transpile(file: string): string {
  const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript')
  const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true }
  return ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file }).outputText
}

/** The live lab page at `/_lab/`, its script, and the Server-Sent Events stream that feeds it. */
export function registerLabPage(app: Hono<AuthedEnv>, lab: Lab): void {
  const { html, scripts } = labPageFiles()
  const page = (c: Context) =>
    c.html(html, 200, {
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; img-src data:",
    })
  app.get(LAB_PAGE_ROUTES.page, page)
  app.get('/_lab', page)
  for (const [path, script] of scripts) {
    app.get(`${LAB_PAGE_ROUTES.assets}${path}`, (c) =>
      c.body(script, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }),
    )
  }

  // The event log, live: the backlog after Last-Event-ID (a reconnect resumes where it stopped), then
  // each event as it happens; with ?batch=1, every event queued for the page in one frame.
  app.get(LAB_PAGE_ROUTES.eventStream, function eventStream(c) {
    const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0
    const batch = c.req.query('batch')
    if (batch !== undefined && batch !== '0' && batch !== '1') {
      throw new LabError('VALIDATION_ERROR', 'query "batch" must be 1 (several events a frame) or 0', 400)
    }
    const frameOf = batch === '1' ? sseBatchFrame : sseFrames
    // Subscribed before the answer starts, in the same step as the backlog is read: one stream too
    // many gets its 503 instead of a stream. Subscribed first, then the backlog read: with a shared
    // (Redis) log the read is a round trip, live events arriving meanwhile wait, and those the
    // backlog already holds are skipped by id, so none is lost or sent twice.
    let waiting: LabEvent[] | undefined = []
    let sentId = after
    let feed: EventFeed | undefined
    const send = (event: LabEvent) => {
      if (event.id <= sentId) return
      sentId = event.id
      feed?.push(event)
    }
    const unsubscribe = lab.events.subscribe(
      (event) => (waiting ? waiting.push(event) : send(event)),
      () => feed?.end(),
    )
    const backlog = lab.events.since(after)
    const live = (feed = new EventFeed(backlog instanceof Promise ? [] : [...backlog.events]))
    const release = (lastId: number, events: LabEvent[]) => {
      const early = waiting ?? []
      waiting = undefined
      for (const event of events) send(event)
      sentId = Math.max(sentId, lastId)
      for (const event of early) send(event)
    }
    if (backlog instanceof Promise)
      backlog.then(
        (page) => release(0, page.events),
        () => live.end(),
      )
    else release(backlog.lastId, [])
    const close = () => {
      unsubscribe() // at once, so a page that went away frees its place before its writes unwind
      live.end()
    }
    // On a socket, straight to Node's response: through Hono's stream (a WHATWG stream per page and
    // a few promises per write), 64 open pages cost each request about 40 µs of CPU per page.
    const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing
    if (outgoing) {
      void writeToNode(outgoing, live, frameOf, close)
      return RESPONSE_ALREADY_SENT
    }
    return streamSSE(c, async function writeFrames(stream) {
      stream.onAbort(close)
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), 15_000)
      try {
        // Whatever queued while the last write was under way goes out in one write.
        for (let events = await live.take(); events !== undefined; events = await live.take()) await stream.write(frameOf(events))
      } catch {
        // The page went away mid-write; its EventSource reconnects with its Last-Event-ID.
      } finally {
        clearInterval(heartbeat)
        close()
      }
    })
  })
}

/** What streamSSE answers with, written by hand where the stream goes straight to Node. */
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' }
const HEARTBEAT_MS = 15_000
/**
 * How long a page's stream gathers events after a write before the next: 64 pages written every
 * turn of the event loop took an authed GET from 59 to 163 µs of CPU (docs/performance.md); a
 * person watching the page cannot tell 25 ms.
 */
const STREAM_BATCH_MS = 25

/**
 * Writes a page's feed to Node's response: each batch the feed gives in one `write`, waiting for
 * `drain` when the socket is full, a comment every 15 s so proxies keep the connection, and the
 * page's place given up (`close`) as soon as the socket closes or the feed ends.
 */
async function writeToNode(
  outgoing: ServerResponse,
  live: EventFeed,
  frameOf: (events: readonly LabEvent[]) => Uint8Array | string,
  close: () => void,
): Promise<void> {
  outgoing.writeHead(200, SSE_HEADERS)
  // At once, even with no backlog: an EventSource is "open" (the page says live) only once it has them.
  outgoing.flushHeaders()
  outgoing.once('close', close)
  const heartbeat = setInterval(() => outgoing.write(': keep-alive\n\n'), HEARTBEAT_MS)
  try {
    for (let events = await live.take(); events !== undefined; events = await live.take()) {
      if (!outgoing.write(frameOf(events)) && !outgoing.destroyed) await drainCloseOrEnd(outgoing, live)
      // Let the next STREAM_BATCH_MS of requests add their events: under load, one write then
      // carries many, instead of a write per page every turn of the event loop. An event after a
      // quiet spell still goes out at once, and a whole frame queued ends the wait, so it never
      // caps how fast a page that reads is served.
      await live.gather(STREAM_BATCH_MS)
    }
  } finally {
    clearInterval(heartbeat)
    close()
    // A page that stopped reading, with frames still unsent, is cut off rather than left holding
    // the connection; its EventSource reconnects with its Last-Event-ID and resumes.
    if (outgoing.writableNeedDrain) outgoing.destroy()
    else outgoing.end()
  }
}

/** Waits until the socket takes more, the page goes away, or the feed ends (the page fell too far behind). */
function drainCloseOrEnd(outgoing: ServerResponse, live: EventFeed): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      outgoing.off('drain', done)
      outgoing.off('close', done)
      resolve()
    }
    outgoing.on('drain', done)
    outgoing.on('close', done)
    void live.ended.then(done)
  })
}

const encoder = new TextEncoder()
/** Each event's JSON and frame, made once however many pages are open (issue 13: 500 pages once cut throughput 25×). */
const jsonOf = new WeakMap<LabEvent, string>()
const frames = new WeakMap<LabEvent, Uint8Array>()

function eventJson(event: LabEvent): string {
  let json = jsonOf.get(event)
  if (json === undefined) {
    json = JSON.stringify(event)
    jsonOf.set(event, json)
  }
  return json
}

/** An event as one Server-Sent Events frame, serialised and encoded once and then shared by every stream. */
export function sseFrame(event: LabEvent): Uint8Array {
  let frame = frames.get(event)
  if (frame === undefined) {
    frame = encoder.encode(`id: ${event.id}\nevent: lab\ndata: ${eventJson(event)}\n\n`)
    frames.set(event, frame)
  }
  return frame
}

/**
 * The last batch of frames made, and the events it holds: pages that keep up wake together (their
 * STREAM_BATCH_MS timers fall due in one run) and take the same events, so the first page's
 * concatenation serves them all instead of one copy a page.
 */
let lastFrames: { first: LabEvent; last: LabEvent; length: number; frames: Uint8Array } | undefined

/** Several events as frames of one each (`event: lab`), in one write. */
function sseFrames(events: readonly LabEvent[]): Uint8Array {
  if (events.length === 1) return sseFrame(events[0] as LabEvent)
  const first = events[0] as LabEvent
  const last = events.at(-1) as LabEvent
  // The same event objects at both ends and as many between: the log hands every page the same ones, in order.
  if (lastFrames?.first === first && lastFrames.last === last && lastFrames.length === events.length) return lastFrames.frames
  const frames = Buffer.concat(events.map(sseFrame))
  lastFrames = { first, last, length: events.length, frames }
  return frames
}

/**
 * Several events as one frame (`?batch=1`): `event: labs`, the data a JSON array of them, the id
 * the last one's, so a reconnect resumes after it. A browser dispatches one message for the lot:
 * 10 000 events as single frames cost Chromium's EventSource about half a second, in frames of
 * up to MAX_FRAME_EVENTS a twentieth of that.
 */
export function sseBatchFrame(events: readonly LabEvent[]): string {
  return `id: ${events.at(-1)?.id ?? 0}\nevent: labs\ndata: [${events.map(eventJson).join(',')}]\n\n`
}

/** Events in one frame at most: a page that falls behind gets its backlog in a few frames, not one huge one. */
export const MAX_FRAME_EVENTS = 1_000

/** The events queued for one page, taken by its writer as many as have queued at a time. */
export class EventFeed {
  #events: LabEvent[]
  readonly #limit: number
  #ended = false
  #wake: (() => void) | undefined
  #frameFull: (() => void) | undefined
  #markEnded!: () => void
  /** Resolves once the feed has ended: the page went away, the log closed, or the page fell too far behind. */
  readonly ended = new Promise<void>((resolve) => (this.#markEnded = resolve))

  constructor(backlog: LabEvent[]) {
    this.#events = backlog
    this.#limit = backlog.length + MAX_QUEUED
  }

  push(event: LabEvent): void {
    if (this.#events.length >= this.#limit) return this.end()
    this.#events.push(event)
    this.#wake?.()
    if (this.#events.length >= MAX_FRAME_EVENTS) this.#frameFull?.()
  }

  end(): void {
    this.#ended = true
    this.#markEnded()
    this.#wake?.()
    this.#frameFull?.()
  }

  /** Resolves after `ms`, or sooner once a whole frame (MAX_FRAME_EVENTS) is queued or the feed ends. */
  gather(ms: number): Promise<void> {
    if (this.#ended || this.#events.length >= MAX_FRAME_EVENTS) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#frameFull = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#frameFull = done
    })
  }

  /** The events queued so far (at most MAX_FRAME_EVENTS), once there is one; undefined once the feed has ended. */
  async take(): Promise<LabEvent[] | undefined> {
    while (!this.#ended) {
      if (this.#events.length > 0) {
        if (this.#events.length <= MAX_FRAME_EVENTS) {
          const taken = this.#events
          this.#events = []
          return taken
        }
        return this.#events.splice(0, MAX_FRAME_EVENTS)
      }
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = undefined
    }
    return undefined
  }
}
