import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Tokens } from '../../client/contract.js'
import type { TabAnswer } from './messages.js'
import { appendOutput, diedAnswer, type ClientTab, type TabHost } from './tab.js'

/** How long a command has to say `{"op":"ready"}` after `init`. */
const READY_WITHIN_MS = 10_000
/** How long a command has to exit after `{"op":"close"}` before it is killed. */
const CLOSE_GRACE_MS = 2_000

/**
 * A tab that is a command in any language (`--client 'exec:python3 my_client.py'`), one process per
 * tab, speaking newline-delimited JSON on stdin/stdout. docs/clients.md holds the protocol; this is
 * its harness side. The client's HTTP calls bypass the harness's fetch, so it is judged from the
 * server's side.
 */
export class ExecTab implements ClientTab {
  readonly #host: TabHost
  readonly #command: string
  #child: ChildProcessWithoutNullStreams | undefined
  #died: string | undefined
  #closing = false
  #output = ''
  #lines = 0
  #nextId = 1
  #ready: { resolve: () => void; reject: (error: Error) => void } | undefined
  /** Requests in flight by protocol id, with the harness's request id. */
  readonly #pending = new Map<number, { id: string; resolve: (answer: TabAnswer) => void }>()
  #exited: Promise<void> = Promise.resolve()

  constructor(
    readonly tab: number,
    host: TabHost,
    command: string,
  ) {
    this.#host = host
    this.#command = command
  }

  get died(): string | undefined {
    return this.#died
  }

  get output(): string {
    return this.#output
  }

  start(): Promise<void> {
    const child = spawn(this.#command, {
      shell: true,
      // Its own process group: the shell may not exec the command, so ending the tab must reach
      // the command and whatever it started, not only the shell.
      detached: true,
      env: { ...process.env, REFRESH_LAB_URL: this.#host.baseUrl },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    child.stderr.on('data', (chunk: Buffer) => (this.#output = appendOutput(this.#output, chunk.toString())))
    child.stdin.on('error', () => undefined) // a client that exits early closes the pipe; its exit says why
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.#onLine(line))
    child.once('error', (error) => this.#die(`client command could not start: ${error.message}`))
    child.once('exit', (code, signal) => {
      // A grandchild may still hold the pipes; the tab is over when the command is.
      this.#killGroup()
      child.stdout.destroy()
      child.stderr.destroy()
      if (this.#closing) return
      const during = [...this.#pending.values()][0]?.id
      const when = this.#ready ? ' before it was ready' : during === undefined ? '' : ` during request ${during}`
      const stderr = this.#output.trim().split('\n').slice(-3).join(' | ')
      this.#die(`client exited with ${signal === null ? `code ${code}` : `signal ${signal}`}${when}${stderr === '' ? '' : `: ${stderr}`}`)
    })
    const ready = new Promise<void>((resolve, reject) => (this.#ready = { resolve, reject }))
    const timer = setTimeout(
      () => this.#die(`client did not answer {"op":"init"} with {"op":"ready"} within ${READY_WITHIN_MS / 1000}s`),
      READY_WITHIN_MS,
    )
    this.#write({ op: 'init', baseUrl: this.#host.baseUrl, tab: this.tab })
    return ready.finally(() => clearTimeout(timer))
  }

  /** The process is the client: once it is ready there is nothing more to create. */
  async create(): Promise<void> {
    if (this.#died !== undefined) throw new Error(this.#died)
  }

  request(id: string, method: string, path: string, body: unknown): Promise<TabAnswer> {
    if (this.#died !== undefined) return Promise.resolve(diedAnswer(this.#died))
    const wireId = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(wireId, { id, resolve })
      this.#write({ op: 'request', id: wireId, method, path, body: body ?? null })
    })
  }

  async close(): Promise<void> {
    const child = this.#child
    if (!child) return
    this.#closing = true
    this.#settleAll(this.#died ?? 'the tab was closed')
    if (child.exitCode === null && child.signalCode === null) {
      this.#write({ op: 'close' })
      child.stdin.end()
      const timer = setTimeout(() => this.#killGroup(), CLOSE_GRACE_MS)
      await this.#exited
      clearTimeout(timer)
    }
    this.#killGroup()
  }

  /** Ends the command and everything it started (its process group). */
  #killGroup(): void {
    const pid = this.#child?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  #write(message: object): void {
    const child = this.#child
    if (child?.stdin.writable) child.stdin.write(`${JSON.stringify(message)}\n`)
  }

  #onLine(line: string): void {
    // After {"op":"close"} the client may say goodbye however it likes.
    if (this.#closing) return
    this.#lines += 1
    if (line.trim() === '') return
    let message: { op?: unknown; id?: unknown; result?: unknown; error?: unknown; tokens?: unknown }
    try {
      message = JSON.parse(line) as typeof message
    } catch {
      return this.#protocolError(`is not JSON: ${quote(line)}`)
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message))
      return this.#protocolError(`is not a JSON object: ${quote(line)}`)
    switch (message.op) {
      case 'ready':
        this.#ready?.resolve()
        this.#ready = undefined
        return
      case 'logout':
        this.#host.onLogout()
        return
      case 'storage.load':
      case 'storage.save':
      case 'storage.clear':
        return this.#onStorage(message.op, message.id, message.tokens, line)
      case undefined:
        return this.#onAnswer(message, line)
      default:
        return this.#protocolError(`has an unknown op ${quote(String(message.op))}`)
    }
  }

  #onStorage(op: 'storage.load' | 'storage.save' | 'storage.clear', id: unknown, tokens: unknown, line: string): void {
    if (typeof id !== 'string' && typeof id !== 'number') return this.#protocolError(`calls ${op} without an id: ${quote(line)}`)
    const { storage } = this.#host
    let done: Promise<unknown>
    if (op === 'storage.save') {
      const { accessToken, refreshToken } = (tokens ?? {}) as Partial<Record<keyof Tokens, unknown>>
      if (typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
        return this.#protocolError(`calls storage.save without tokens {"accessToken","refreshToken"} as strings: ${quote(line)}`)
      }
      done = storage.save({ accessToken, refreshToken })
    } else {
      done = op === 'storage.load' ? storage.load() : storage.clear()
    }
    done.then((result) => this.#write({ id, result: result ?? null }))
  }

  #onAnswer(message: { id?: unknown; result?: unknown; error?: unknown }, line: string): void {
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined
    if (!pending) return this.#protocolError(`answers an id the harness never sent: ${quote(line)}`)
    this.#pending.delete(message.id as number)
    if (message.error === undefined) return pending.resolve({ ok: true, value: message.result ?? null })
    const error = message.error as { status?: unknown; code?: unknown; message?: unknown } | null
    const code = typeof error?.code === 'string' && error.code !== '' ? error.code : 'ERROR'
    pending.resolve({
      ok: false,
      failure: {
        code,
        message: typeof error?.message === 'string' ? error.message : code,
        ...(typeof error?.status === 'number' ? { status: error.status } : {}),
      },
    })
  }

  #protocolError(what: string): void {
    this.#die(`client protocol error: line ${this.#lines} ${what}`)
    this.#killGroup()
  }

  #die(reason: string): void {
    if (this.#died !== undefined || this.#closing) return
    this.#died = reason
    this.#ready?.reject(new Error(reason))
    this.#ready = undefined
    this.#settleAll(reason)
  }

  #settleAll(reason: string): void {
    for (const { resolve } of this.#pending.values()) resolve(diedAnswer(reason))
    this.#pending.clear()
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}…` : text)
}
