/**
 * The bounds of one harness run: a time limit, and an early end when the client has used up its
 * budget of HTTP calls. Requests still unsettled when the run ends count as failed with the reason,
 * so a looping or hanging client ends with a verdict, never a hang.
 */
export type EndReason = 'TIMEOUT' | 'CALL_LIMIT'

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown } | { ok: false; ended: EndReason }

export class RunBound {
  #end!: (reason: EndReason) => void
  #reason: EndReason | undefined
  readonly #timer: NodeJS.Timeout
  readonly #controller = new AbortController()
  readonly ended: Promise<EndReason>
  /** Aborted when the run ends or is disposed: for waits that must not outlive it. */
  readonly signal: AbortSignal = this.#controller.signal

  constructor(readonly timeoutMs: number) {
    this.ended = new Promise<EndReason>((resolve) => {
      this.#end = resolve
    })
    this.#timer = setTimeout(() => this.end('TIMEOUT'), timeoutMs)
  }

  /** Why the run ended early, if it did. */
  get reason(): EndReason | undefined {
    return this.#reason
  }

  end(reason: EndReason): void {
    if (this.#reason !== undefined) return
    this.#reason = reason
    clearTimeout(this.#timer)
    this.#controller.abort()
    this.#end(reason)
  }

  /** Waits for a request, but no longer than the run lasts. */
  async settle<T>(promise: Promise<T>): Promise<Settled<T>> {
    return Promise.race([
      promise.then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      ),
      this.ended.then((ended): Settled<T> => ({ ok: false, ended })),
    ])
  }

  dispose(): void {
    clearTimeout(this.#timer)
    this.#controller.abort()
  }
}
