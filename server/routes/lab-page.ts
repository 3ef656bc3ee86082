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
 * The page's script and the one module it imports, by their paths under `dist/`: served at
 * `/_lab/ui/<path>`, so the script's relative import resolves in the browser as it does on disk.
 */
const SCRIPTS = ['server/lab-page/page.js', 'src/shared/wire.js'] as const

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
  app.get(LAB_PAGE_ROUTES.eventStream, (c) =>
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
          queue = queue
            .then(() => send(event))
            .catch(() => ended())
            .finally(() => (waiting -= 1))
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
