import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Context, Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { LAB_PAGE_ROUTES, type LabEvent } from '../../src/shared/wire.js'
import type { AuthedEnv } from '../http/bearer.js'
import type { Lab } from '../lab.js'

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
  const root = new URL('../../', import.meta.url)
  const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
  const scripts = new Map<string, string>()
  for (const path of SCRIPTS) {
    const compiled = new URL(path, root)
    scripts.set(path, existsSync(compiled) ? read(path) : transpile(fileURLToPath(compiled).replace(/\.js$/, '.ts')))
  }
  files = { html: read('server/lab-page/index.html'), scripts }
  return files
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

  // The event log, live: the backlog after Last-Event-ID (a reconnect resumes where it stopped), then each event as it happens.
  app.get(LAB_PAGE_ROUTES.eventStream, function eventStream(c) {
    const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0
    // Subscribed before the answer starts, in the same step as the backlog is read: one stream too
    // many gets its 503 instead of a stream. Subscribed first, then the backlog read: with a shared
    // (Redis) log the read is a round trip, live events arriving meanwhile wait, and those the
    // backlog already holds are skipped by id, so none is lost or sent twice.
    let waiting: LabEvent[] | undefined = []
    let sentId = after
    let feed: FrameFeed | undefined
    const send = (event: LabEvent) => {
      if (event.id <= sentId) return
      sentId = event.id
      feed?.push(sseFrame(event))
    }
    const unsubscribe = lab.events.subscribe(
      (event) => (waiting ? waiting.push(event) : send(event)),
      () => feed?.end(),
    )
    const backlog = lab.events.since(after)
    const live = (feed = new FrameFeed(backlog instanceof Promise ? [] : backlog.events.map(sseFrame)))
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
    return streamSSE(c, async function writeFrames(stream) {
      stream.onAbort(close)
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), 15_000)
      try {
        for (let frame = await live.next(); frame !== undefined; frame = await live.next()) await stream.write(frame)
      } catch {
        // The page went away mid-write; its EventSource reconnects with its Last-Event-ID.
      } finally {
        clearInterval(heartbeat)
        close()
      }
    })
  })
}

const encoder = new TextEncoder()
/** Each event's frame, made once however many pages are open (issue 13: 500 pages once cut throughput 25×). */
const frames = new WeakMap<LabEvent, Uint8Array>()

/** An event as one Server-Sent Events frame, serialised and encoded once and then shared by every stream. */
export function sseFrame(event: LabEvent): Uint8Array {
  let frame = frames.get(event)
  if (frame === undefined) {
    frame = encoder.encode(`id: ${event.id}\nevent: lab\ndata: ${JSON.stringify(event)}\n\n`)
    frames.set(event, frame)
  }
  return frame
}

/**
 * One page's frames, in order, the backlog first. A page that stops reading is cut off once
 * MAX_QUEUED live frames wait, rather than buffered without end; its EventSource reconnects and
 * resumes from its Last-Event-ID.
 */
class FrameFeed {
  readonly #frames: Uint8Array[]
  readonly #limit: number
  #ended = false
  #wake: (() => void) | undefined

  constructor(backlog: Uint8Array[]) {
    this.#frames = backlog
    this.#limit = backlog.length + MAX_QUEUED
  }

  push(frame: Uint8Array): void {
    if (this.#frames.length >= this.#limit) return this.end()
    this.#frames.push(frame)
    this.#wake?.()
  }

  end(): void {
    this.#ended = true
    this.#wake?.()
  }

  /** The next frame, once there is one; undefined once the feed has ended. */
  async next(): Promise<Uint8Array | undefined> {
    while (!this.#ended) {
      const frame = this.#frames.shift()
      if (frame !== undefined) return frame
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = undefined
    }
    return undefined
  }
}
