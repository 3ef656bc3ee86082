/**
 * The lab clock: real time plus an offset the lab can move. Every expiry check on the server
 * reads it, so a test advances 35 seconds instead of sleeping through them.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, by the lab's reckoning. */
  now(): number
}

/** The last instant a JavaScript Date can show as an ISO string with a four-digit year. */
export const MAX_CLOCK_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

export class LabClock implements Clock {
  #offsetMs = 0

  constructor(private readonly realNow: () => number = Date.now) {}

  now(): number {
    return this.realNow() + this.#offsetMs
  }

  get offsetMs(): number {
    return this.#offsetMs
  }

  /** Moves the clock forward; time never runs backwards under a running client. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${ms} ms`)
    if (this.now() + ms > MAX_CLOCK_MS) throw new RangeError('cannot advance the clock past the year 9999')
    this.#offsetMs += ms
  }

  /** Jumps to an absolute time, which may be in the past (to replay a scenario from a known instant). */
  set(epochMs: number): void {
    if (!Number.isFinite(epochMs) || epochMs < 0 || epochMs > MAX_CLOCK_MS) {
      throw new RangeError('the clock can be set from 1970 to the year 9999')
    }
    this.#offsetMs = epochMs - this.realNow()
  }

  reset(): void {
    this.#offsetMs = 0
  }

  /** Restores an offset kept by --data-dir. */
  restoreOffset(offsetMs: number): void {
    this.#offsetMs = offsetMs
  }
}
