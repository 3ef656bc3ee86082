import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'
import { describeRejection } from './client-error.js'
import type { FromTab, TabAnswer, TabWorkerData, ToTab } from './messages.js'
import { appendOutput, diedAnswer, tabSettings, type ClientTab, type TabHost } from './tab.js'

/** How long a tab has to load its module, or to return from createClient. */
export const STEP_WITHIN_MS = 10_000

/**
 * A tab in its own worker thread. Whatever the client does there (`process.exit`, a busy loop, a
 * refresh timer, an open BroadcastChannel) stays there: `close()` ends the thread, and an exit or
 * a crash settles the requests it was running with the reason.
 */
export class WorkerTab implements ClientTab {
  readonly #host: TabHost
  readonly #data: TabWorkerData
  readonly #clientFile: string | undefined
  #worker: Worker | undefined
  #died: string | undefined
  #crash: string | undefined
  #closing = false
  #output = ''
  #step: { resolve: () => void; reject: (error: Error) => void } | undefined
  readonly #pending = new Map<string, (answer: TabAnswer) => void>()
  readonly #callKeys = new Map<number, number>()
  readonly #exited: Promise<void>
  #markExited!: () => void

  constructor(
    readonly tab: number,
    host: TabHost,
    client: { builtIn: string } | { file: string; compiled?: string },
  ) {
    this.#host = host
    this.#clientFile = 'file' in client ? client.file : undefined
    this.#data = { client, ...tabSettings(tab, host) }
    this.#exited = new Promise((resolve) => (this.#markExited = resolve))
  }

  get died(): string | undefined {
    return this.#died
  }

  get output(): string {
    return this.#output
  }

  start(): Promise<void> {
    const worker = takeWarmWorker() ?? spawnTabWorker()
    this.#worker = worker
    worker.stdout.on('data', (chunk: Buffer) => (this.#output = appendOutput(this.#output, chunk.toString())))
    worker.stderr.on('data', (chunk: Buffer) => (this.#output = appendOutput(this.#output, chunk.toString())))
    worker.on('message', (message: FromTab) => this.#onMessage(message))
    worker.on('error', (error) => {
      const failure = describeRejection(error, this.#clientFile)
      this.#crash = failure.name === undefined ? `${failure.code}: ${failure.message}` : failure.code
    })
    worker.on('exit', (code) => this.#onExit(code))
    const loaded = this.#awaitStep('load the client module')
    this.#send({ type: 'start', data: this.#data })
    return loaded
  }

  create(): Promise<void> {
    const step = this.#awaitStep('return from createClient(ctx)')
    this.#send({ type: 'create' })
    return step
  }

  request(id: string, method: string, path: string, body: unknown): Promise<TabAnswer> {
    if (this.#died !== undefined) return Promise.resolve(diedAnswer(this.#died))
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.#send({ type: 'request', id, method, path, body })
    })
  }

  async close(): Promise<void> {
    if (!this.#worker) return
    this.#closing = true
    if (this.#died === undefined) await this.#worker.terminate()
    await this.#exited
  }

  #send(message: ToTab): void {
    this.#worker?.postMessage(message)
  }

  /** Waits for the tab's answer to a step, no longer than STEP_WITHIN_MS: a tab that hangs there is ended. */
  #awaitStep(what: string): Promise<void> {
    if (this.#died !== undefined) return Promise.reject(new Error(this.#died))
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`client did not ${what} within ${STEP_WITHIN_MS / 1000}s`))
        void this.#worker?.terminate()
      }, STEP_WITHIN_MS)
      this.#step = {
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
    })
  }

  #onMessage(message: FromTab): void {
    const host = this.#host
    switch (message.type) {
      case 'loaded':
      case 'created':
        this.#step?.resolve()
        return
      case 'failed':
        this.#step?.reject(new Error(message.message))
        return
      case 'answer': {
        const resolve = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        resolve?.(message.answer)
        return
      }
      case 'storage': {
        const { call } = message
        const done =
          message.op === 'save' ? host.storage.save(message.tokens) : message.op === 'clear' ? host.storage.clear() : host.storage.load()
        done.then(
          (result) => this.#send({ type: 'storage', call, result: result ?? null }),
          (error: Error) => this.#send({ type: 'storage', call, error: error.message }),
        )
        return
      }
      case 'logout':
        host.onLogout()
        return
      case 'call-start':
        this.#callKeys.set(message.key, host.sink.start(message.call))
        return
      case 'call-end': {
        const key = this.#callKeys.get(message.key)
        this.#callKeys.delete(message.key)
        if (key !== undefined) host.sink.end(key, message.end)
        return
      }
      case 'call-limit':
        host.onLimit()
        return
      case 'lock':
        this.#onLock(message.call)
        return
    }
  }

  #onLock(call: Extract<FromTab, { type: 'lock' }>['call']): void {
    const { locks } = this.#host
    const key = `${this.tab}:${call.id}`
    switch (call.op) {
      case 'request': {
        const granted = locks.request(key, call.name, call.mode, call.ifAvailable, () =>
          this.#send({ type: 'lock', reply: { id: call.id, granted: true } }),
        )
        if (granted !== 'queued') this.#send({ type: 'lock', reply: { id: call.id, granted } })
        return
      }
      case 'release':
        locks.release(key)
        return
      case 'cancel':
        // Only a request still waiting is cancelled; a granted lock is released by its holder.
        locks.cancel(key)
        return
      case 'query':
        this.#send({ type: 'lock', reply: { id: call.id, snapshot: locks.snapshot() } })
        return
    }
  }

  #onExit(code: number): void {
    this.#host.locks.dropOwner(String(this.tab))
    if (!this.#closing) {
      const during = [...this.#pending.keys()][0]
      const how = this.#crash === undefined ? `exited with code ${code}` : `crashed: ${this.#crash}`
      this.#died = `client ${how}${during === undefined ? '' : ` during request ${during}`}`
      this.#step?.reject(new Error(this.#died))
    }
    for (const resolve of this.#pending.values()) resolve(diedAnswer(this.#died ?? 'the tab was closed'))
    this.#pending.clear()
    this.#markExited()
  }
}

let warm: Worker | undefined

/**
 * Starts a tab's thread before its run is ready, so that it loads its modules while the caller
 * starts a server (`burst` does, on the other core): the next tab to start takes it. Unreferenced
 * until then, so a run that never uses it does not wait for it.
 */
export function prewarmTabWorker(): void {
  if (warm) return
  warm = spawnTabWorker()
  warm.unref()
  warm.on('error', dropWarm).on('exit', dropWarm)
}

/** A thread that fails before a tab takes it is dropped; the tab then starts its own and reports why. */
function dropWarm(): void {
  warm = undefined
}

function takeWarmWorker(): Worker | undefined {
  const worker = warm
  if (!worker) return undefined
  warm = undefined
  worker.off('error', dropWarm).off('exit', dropWarm)
  worker.ref()
  return worker
}

/**
 * Starts the tab entry: the compiled `tab-worker.js` next to this file. When the harness runs from
 * its TypeScript sources (its own tests, which build dist/ first), the compiled entry in dist/, or,
 * not built, `tab-worker.ts` through tsx, which costs each tab a second of compiling.
 */
function spawnTabWorker(): Worker {
  const options = { stdout: true, stderr: true } satisfies WorkerOptions
  const compiled = [new URL('./tab-worker.js', import.meta.url), new URL('../../../dist/src/harness/tabs/tab-worker.js', import.meta.url)]
  const entry = compiled.find((url) => existsSync(fileURLToPath(url)))
  if (entry) return new Worker(entry, options)
  const source = new URL('./tab-worker.ts', import.meta.url).href
  // tsx's ES module entry (its CommonJS twin cannot register hooks from a worker's boot code).
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href
  const boot = `import { tsImport } from ${JSON.stringify(tsx)}\nawait tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)})`
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), options)
}
