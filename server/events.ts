import { LabError } from '../src/shared/errors.js'
import type { LabEvent, LabEventsPage } from '../src/shared/wire.js'
import type { Clock } from './clock.js'
import type { LabDomainEvent, SessionScope } from './domain-events.js'
import { describeFault } from './faults.js'

export type NewLabEvent = Omit<LabEvent, 'id' | 'at'>

/**
 * One kept entry: the time as the lab clock's milliseconds, turned into the public ISO string only
 * when the entry is read. Recording happens on every request; reading, when someone looks (issue 14).
 */
interface Kept {
  id: number
  atMs: number
  event: NewLabEvent
}

function published({ id, atMs, event }: Kept): LabEvent {
  return { id, at: isoTime(atMs), ...event }
}

/** The last time formatted, kept: under load many entries share a millisecond, and every open page publishes each. */
let lastAtMs = Number.NaN
let lastAt = ''
function isoTime(atMs: number): string {
  if (atMs !== lastAtMs) {
    lastAt = new Date(atMs).toISOString()
    lastAtMs = atMs
  }
  return lastAt
}

interface Subscriber {
  onEvent(event: LabEvent): void
  onClose(): void
}

/**
 * What the routes read of an event log: this process's ring buffer (EventLog), or with a Redis
 * store the cluster's (server/redis-shared.ts), whose reads are promises.
 */
export interface LabEventLog {
  since(afterId?: number, limit?: number): LabEventsPage | Promise<LabEventsPage>
  subscribe(onEvent: (event: LabEvent) => void, onClose: () => void): () => void
  closeSubscribers(): void
}

/**
 * The lab's event log: a ring buffer, so a server left running for days keeps its memory flat.
 * Ids keep counting across the wrap, so a reader can tell how many events it missed.
 */
export class EventLog implements LabEventLog {
  readonly #ring: (Kept | undefined)[]
  #nextId = 1
  readonly #subscribers = new Set<Subscriber>()
  /** Ids below this were cleared. */
  #oldestKeptId = 1

  constructor(
    readonly capacity: number,
    private readonly clock: Clock,
    /** Live subscribers at once: each costs a write per event, so open pages could slow every request. */
    readonly maxSubscribers = 64,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event log capacity must be a positive integer, got ${capacity}`)
    this.#ring = new Array<Kept | undefined>(capacity)
  }

  /** Keeps an entry and hands it to the live subscribers; returns its id. */
  record(event: NewLabEvent): number {
    const kept: Kept = { id: this.#nextId, atMs: this.clock.now(), event }
    this.#ring[(this.#nextId - 1) % this.capacity] = kept
    this.#nextId += 1
    if (this.#subscribers.size > 0) {
      const full = published(kept)
      for (const subscriber of this.#subscribers) subscriber.onEvent(full)
    }
    return kept.id
  }

  /** The event log's subscription to the lab's domain events: a reset empties it, then is its first entry. */
  follow(event: LabDomainEvent): void {
    if (event.type === 'reset') this.clear()
    const entry = logEntryFor(event)
    if (entry) this.record(entry)
  }

  /**
   * Live events as they are recorded (the lab page's stream); returns the unsubscribe. Throws
   * `TOO_MANY_SUBSCRIBERS` (503) when `maxSubscribers` are subscribed already.
   */
  subscribe(onEvent: (event: LabEvent) => void, onClose: () => void): () => void {
    if (this.#subscribers.size >= this.maxSubscribers) {
      throw new LabError(
        'TOO_MANY_SUBSCRIBERS',
        `${this.maxSubscribers} live event streams are open already (--max-event-streams); close a lab page, or read GET /_lab/events`,
      )
    }
    const subscriber = { onEvent, onClose }
    this.#subscribers.add(subscriber)
    return () => this.#subscribers.delete(subscriber)
  }

  /** Ends every live stream, so a closing server does not wait on open pages. */
  closeSubscribers(): void {
    for (const subscriber of this.#subscribers) subscriber.onClose()
    this.#subscribers.clear()
  }

  /** Events with an id greater than `afterId`, oldest first, and how many of those were lost. */
  since(afterId = 0, limit = this.capacity): LabEventsPage {
    const lastId = this.#nextId - 1
    // A cursor past the end comes from before a restart: start from what there is.
    if (afterId > lastId) afterId = 0
    const ringOldest = Math.max(1, lastId - this.capacity + 1)
    const first = Math.max(afterId + 1, ringOldest, this.#oldestKeptId)
    const events: LabEvent[] = []
    for (let id = first; id <= lastId && events.length < limit; id += 1) {
      const kept = this.#ring[(id - 1) % this.capacity]
      if (kept) events.push(published(kept))
    }
    // Lost to the ring's wrap, not to a clear.
    return { events, lastId, dropped: Math.max(0, ringOldest - Math.max(afterId + 1, this.#oldestKeptId)) }
  }

  /** Empties the log; ids keep counting, so a reader's Last-Event-ID never points into the future. */
  clear(): void {
    this.#ring.fill(undefined)
    this.#oldestKeptId = this.#nextId
  }
}

/**
 * The entry a domain event leaves in the log (a public JSON shape: `LabEvent` in src/shared/wire.ts),
 * or none for the events only the counters or the journal need.
 */
export function logEntryFor(event: LabDomainEvent): NewLabEvent | undefined {
  switch (event.type) {
    case 'signedIn':
      return { type: 'login', user: event.user, family: event.family, generation: 1, status: 200 }
    case 'refreshed': {
      const entry: NewLabEvent = { type: 'refresh', status: 200, user: event.user, family: event.family, generation: event.generation }
      if (event.graceOf !== undefined) entry.detail = `grace reuse of generation ${event.graceOf}; answered generation ${event.generation}`
      return entry
    }
    case 'refreshRejected':
      if (event.malformed) return undefined
      return {
        type: 'refresh',
        status: 401,
        code: event.code,
        ...(event.session ? { user: event.session.user, family: event.session.family, generation: event.session.generation } : {}),
      }
    case 'reuseDetected':
      return {
        type: 'reuse_detected',
        status: 401,
        code: event.code,
        user: event.user,
        family: event.family,
        generation: event.generation,
        detail: `generation ${event.generation} replayed ${event.ageAtLeast ? 'at least ' : ''}${event.sinceRotationMs} ms after it was rotated; family revoked`,
      }
    case 'signedOut':
      return event.via === 'logout'
        ? { type: 'logout', ...(event.user === undefined ? {} : { user: event.user }), family: event.family, status: 200 }
        : { type: 'logout', family: event.family, status: 200, detail: 'revoked through /oauth/revoke' }
    case 'sessionsRevoked':
      return { type: 'revoke', detail: `${event.count} session${event.count === 1 ? '' : 's'} revoked (${describeScope(event.scope)})` }
    case 'tokensExpired':
      return { type: 'expire', detail: `${event.tokens} tokens expired now (${describeScope(event.scope)})` }
    case 'clockMoved':
      return { type: 'clock', detail: `clock now ${new Date(event.now).toISOString()} (offset ${event.offsetMs} ms)` }
    case 'configChanged': {
      const view = event.config
      return {
        type: 'config',
        detail: `accessTtl ${view.accessTtlMs} ms, refreshTtl ${view.refreshTtlMs} ms, sessionTtl ${view.sessionTtlMs} ms, reuseGrace ${view.reuseGraceMs} ms`,
      }
    }
    case 'faultSet':
      return { type: 'fault', detail: `set: ${describeFault(event.fault)}` }
    case 'faultInjected':
      return { type: 'fault', route: event.route, detail: describeFault(event.fault) }
    case 'requestHandled': {
      // One for every request: built field by field, in the order the spreads once gave.
      const entry: NewLabEvent = { type: 'request', route: event.route, status: event.status === 'dropped' ? 0 : event.status }
      if (event.code !== undefined) entry.code = event.code
      if (event.user !== undefined) entry.user = event.user
      if (event.family !== undefined) entry.family = event.family
      entry.startMs = event.startMs
      entry.endMs = event.endMs
      return entry
    }
    case 'reset':
      return { type: 'reset' }
    case 'userRegistered':
    case 'familyRevoked':
    case 'refreshFaulted':
      return undefined
  }
}

export function describeScope(scope: SessionScope): string {
  return scope.family !== undefined ? `family ${scope.family}` : scope.user !== undefined ? `user ${scope.user}` : 'all sessions'
}
