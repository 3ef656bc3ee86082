import type { LabDomainEvent } from './domain-events.js'

/** Sessions whose last refresh is remembered; older ones are forgotten first (a hold then waits for a next refresh). */
const MAX_MARKS = 1024

interface Waiter {
  family: string
  resolve: () => void
}

/**
 * Which sessions refreshed after which access token: what `?_wait=refresh` holds a request on
 * (docs/design.md, "The request pipeline"). Each refresh marks its session with the serial of the
 * last access token signed before it, so a token at or under its session's mark is older than a
 * refresh of that session. A request that reaches the server after the refresh it would wait for
 * (a loaded machine, a slow client) then goes on at once instead of waiting for a refresh that
 * will never come.
 */
export class RefreshWatch {
  readonly #marks = new Map<string, number>()
  readonly #waiters = new Set<Waiter>()
  readonly #lastSerial: () => number

  /** `lastSerial`: the serial of the last access token signed (AccessTokens.lastSerial). */
  constructor(lastSerial: () => number) {
    this.#lastSerial = lastSerial
  }

  follow(event: LabDomainEvent): void {
    if (event.type === 'reset') {
      this.#marks.clear()
      for (const waiter of this.#waiters) waiter.resolve()
      this.#waiters.clear()
      return
    }
    if (event.type !== 'refreshed') return
    // Deleted first so the Map's order stays "least recently refreshed first".
    this.#marks.delete(event.family)
    this.#marks.set(event.family, this.#lastSerial())
    if (this.#marks.size > MAX_MARKS) this.#marks.delete(this.#marks.keys().next().value as string)
    for (const waiter of this.#waiters) {
      if (waiter.family !== event.family) continue
      this.#waiters.delete(waiter)
      waiter.resolve()
    }
  }

  /**
   * Resolves once `family` has refreshed after the access token of `serial` was signed: at once
   * when it already has, else at its next refresh, at a reset, or after `withinMs`, whichever is first.
   */
  refreshedSince(family: string, serial: number, withinMs: number): Promise<void> {
    if ((this.#marks.get(family) ?? 0) >= serial && serial > 0) return Promise.resolve()
    return new Promise((resolve) => {
      const waiter: Waiter = {
        family,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        resolve()
      }, withinMs)
      this.#waiters.add(waiter)
    })
  }
}
