/**
 * The Web Locks API (`navigator.locks`) held in common by the tabs of one run, as a browser holds
 * it for one origin. The harness keeps the table (`LockTable`); each tab's worker gets a
 * `navigator.locks` (`createLockManager`) that asks the table for every grant. Exclusive and shared
 * modes, `ifAvailable` and `signal` are supported; `steal` is not. A tab that dies releases its locks.
 */

export type LockMode = 'exclusive' | 'shared'

interface Held {
  key: string
  name: string
  mode: LockMode
}

interface Waiting extends Held {
  grant: () => void
}

export interface LockSnapshot {
  held: { name: string; mode: LockMode; clientId: string }[]
  pending: { name: string; mode: LockMode; clientId: string }[]
}

/** The harness's side: who holds which lock, and who waits, in order of asking. */
export class LockTable {
  readonly #held: Held[] = []
  readonly #waiting: Waiting[] = []

  /** Grants now when possible; otherwise queues (or, with `ifAvailable`, answers false). */
  request(key: string, name: string, mode: LockMode, ifAvailable: boolean, grant: () => void): boolean | 'queued' {
    if (this.#grantable(name, mode, this.#waiting.length)) {
      this.#held.push({ key, name, mode })
      return true
    }
    if (ifAvailable) return false
    this.#waiting.push({ key, name, mode, grant })
    return 'queued'
  }

  release(key: string): void {
    const index = this.#held.findIndex((lock) => lock.key === key)
    if (index >= 0) this.#held.splice(index, 1)
    this.#pump()
  }

  /** Drops a request still waiting (its signal aborted). True if it was waiting. */
  cancel(key: string): boolean {
    const index = this.#waiting.findIndex((lock) => lock.key === key)
    if (index < 0) return false
    this.#waiting.splice(index, 1)
    this.#pump()
    return true
  }

  /** Releases and cancels everything a tab held or asked for (its keys start with `owner:`). */
  dropOwner(owner: string): void {
    const mine = (lock: Held) => lock.key.startsWith(`${owner}:`)
    for (let i = this.#held.length - 1; i >= 0; i -= 1) if (mine(this.#held[i] as Held)) this.#held.splice(i, 1)
    for (let i = this.#waiting.length - 1; i >= 0; i -= 1) if (mine(this.#waiting[i] as Held)) this.#waiting.splice(i, 1)
    this.#pump()
  }

  snapshot(): LockSnapshot {
    const row = (lock: Held) => ({ name: lock.name, mode: lock.mode, clientId: lock.key.split(':')[0] ?? '' })
    return { held: this.#held.map(row), pending: this.#waiting.map(row) }
  }

  /** A lock is grantable when no holder conflicts and no earlier waiter for that name would be overtaken. */
  #grantable(name: string, mode: LockMode, before: number): boolean {
    const holders = this.#held.filter((lock) => lock.name === name)
    if (mode === 'exclusive' ? holders.length > 0 : holders.some((lock) => lock.mode === 'exclusive')) return false
    return !this.#waiting.slice(0, before).some((lock) => lock.name === name)
  }

  #pump(): void {
    for (let index = 0; index < this.#waiting.length; ) {
      const next = this.#waiting[index] as Waiting
      if (this.#grantable(next.name, next.mode, index)) {
        this.#waiting.splice(index, 1)
        this.#held.push({ key: next.key, name: next.name, mode: next.mode })
        next.grant()
      } else {
        index += 1
      }
    }
  }
}

/** What a tab's `navigator.locks` sends to the harness. */
export type LockCall =
  | { op: 'request'; id: number; name: string; mode: LockMode; ifAvailable: boolean }
  | { op: 'release'; id: number }
  | { op: 'cancel'; id: number }
  | { op: 'query'; id: number }

/** The harness's answer: granted or not, or the table for `query()`. */
export type LockReply = { id: number; granted: boolean } | { id: number; snapshot: LockSnapshot }

type LockCallback<T> = (lock: { name: string; mode: LockMode } | null) => T | Promise<T>

interface LockOptions {
  mode?: LockMode
  ifAvailable?: boolean
  steal?: boolean
  signal?: AbortSignal
}

/** A tab's `navigator.locks`, asking the harness's table through `send` and learning through `onReply`. */
export function createLockManager(send: (call: LockCall) => void) {
  let nextId = 1
  const waiting = new Map<number, (reply: LockReply) => void>()
  const ask = (call: LockCall & { id: number }) =>
    new Promise<LockReply>((resolve) => {
      waiting.set(call.id, resolve)
      send(call)
    })

  async function request<T>(name: string, optionsOrCallback: LockOptions | LockCallback<T>, maybeCallback?: LockCallback<T>): Promise<T> {
    const options: LockOptions = typeof optionsOrCallback === 'function' ? {} : optionsOrCallback
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback
    if (typeof callback !== 'function') throw new TypeError('navigator.locks.request: the callback is not a function')
    if (typeof name !== 'string' || name.startsWith('-'))
      throw new DOMException('lock names must be strings not starting with "-"', 'NotSupportedError')
    if (options.steal) throw new DOMException('refresh-lab does not support steal', 'NotSupportedError')
    const { signal } = options
    signal?.throwIfAborted()
    const mode = options.mode ?? 'exclusive'
    const id = nextId++
    const answered = ask({ op: 'request', id, name, mode, ifAvailable: options.ifAvailable === true })
    // As in a browser, the signal can only withdraw a request still waiting; once granted it is ignored.
    const reply = await new Promise<LockReply>((resolve, reject) => {
      const onAbort = () => {
        send({ op: 'cancel', id })
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      void answered.then((answer) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(answer)
      })
    }).catch((error: unknown) => {
      // A grant that crossed the cancel is given back at once.
      void answered.then((late) => 'granted' in late && late.granted && send({ op: 'release', id }))
      throw error
    })
    if (!('granted' in reply) || !reply.granted) return callback(null)
    try {
      return await callback({ name, mode })
    } finally {
      send({ op: 'release', id })
    }
  }

  return {
    manager: {
      request,
      query: async (): Promise<LockSnapshot> => {
        const reply = await ask({ op: 'query', id: nextId++ })
        return 'snapshot' in reply ? reply.snapshot : { held: [], pending: [] }
      },
    },
    onReply(reply: LockReply): void {
      const resolve = waiting.get(reply.id)
      waiting.delete(reply.id)
      resolve?.(reply)
    },
  }
}
