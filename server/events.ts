import type { LabEvent, LabEventsPage } from '../src/shared/wire.js'
import type { Clock } from './clock.js'

export type NewLabEvent = Omit<LabEvent, 'id' | 'at'>

/**
 * The lab's event log: a ring buffer, so a server left running for days keeps its memory flat.
 * Ids keep counting across the wrap, so a reader can tell how many events it missed.
 */
interface Subscriber {
  onEvent(event: LabEvent): void
  onClose(): void
}

export class EventLog {
  readonly #ring: (LabEvent | undefined)[]
  #nextId = 1
  readonly #subscribers = new Set<Subscriber>()
  /** Ids below this were cleared. */
  #oldestKeptId = 1

  constructor(
    readonly capacity: number,
    private readonly clock: Clock,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event log capacity must be a positive integer, got ${capacity}`)
    this.#ring = new Array<LabEvent | undefined>(capacity)
  }

  record(event: NewLabEvent): LabEvent {
    const full: LabEvent = { id: this.#nextId, at: new Date(this.clock.now()).toISOString(), ...event }
    this.#ring[(this.#nextId - 1) % this.capacity] = full
    this.#nextId += 1
    for (const subscriber of this.#subscribers) subscriber.onEvent(full)
    return full
  }

  /** Live events as they are recorded (the lab page's stream); returns the unsubscribe. */
  subscribe(onEvent: (event: LabEvent) => void, onClose: () => void): () => void {
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
      const event = this.#ring[(id - 1) % this.capacity]
      if (event) events.push(event)
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
