import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { LabError } from '../src/shared/errors.js'
import type { LiveSettings } from '../src/shared/settings.js'
import type { LabEvent, LabEventsPage, LabStats } from '../src/shared/wire.js'
import type { LabClock } from './clock.js'
import type { UserAccount } from './config.js'
import type { LabDomainEvent } from './domain-events.js'
import { logEntryFor, type LabEventLog, type NewLabEvent } from './events.js'
import { REDIS_PREFIX, type RedisLink } from './redis-store.js'
import { LabCounters } from './stats.js'
import type { UserRegistry } from './users.js'

/**
 * What the instances on one Redis share besides sessions (docs/design.md, "Stores"): the counters
 * (`rl:stats`, a hash of HINCRBYs), the event log (`rl:ev:list`, a list capped like the ring buffer,
 * with ids from one counter), and, through the pub/sub channel `rl:bus`, live events for the lab
 * page, clock moves, live settings and registered users. Writes are pipelined with the request's
 * own; the request waits for them (`settled`) before it is answered, so a read on any instance
 * after an answer sees it.
 */

const STATS = `${REDIS_PREFIX}stats`
const EVENTS = `${REDIS_PREFIX}ev:list`
const EVENT_ID = `${REDIS_PREFIX}ev:id`
const EVENT_OLDEST = `${REDIS_PREFIX}ev:oldest`
const CLOCK = `${REDIS_PREFIX}clock`
const USERS = `${REDIS_PREFIX}users`
const BUS = `${REDIS_PREFIX}bus`
/** Log entries as they are recorded: an instance listens only while a lab page of its own is open. */
const LIVE = `${REDIS_PREFIX}live`

/** Keeps an entry: the next id, the list capped at the log's size, and the entry published. ARGV: capacity, atMs, entry JSON, clear first (1/0). */
const RECORD_EVENT = `
local cap = tonumber(ARGV[1])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[3], tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
end
local id = redis.call('INCR', KEYS[2])
local kept = '{"id":' .. id .. ',"atMs":' .. ARGV[2] .. ',"event":' .. ARGV[3] .. '}'
redis.call('RPUSH', KEYS[1], kept)
redis.call('LTRIM', KEYS[1], -cap, -1)
redis.call('PUBLISH', KEYS[4], '{"kind":"event","kept":' .. kept .. '}')
return id
`

/**
 * What one turn of the event loop changed, in one script: the counters' deltas (ARGV[2] pairs of
 * field and amount after ARGV[1], the log's capacity), then log entries as (atMs, entry JSON)
 * pairs, appended and published together. Concurrent requests share it, so a refresh costs its
 * rotation and a share of one flush, not a round of writes per event.
 */
const FLUSH = `
local n = tonumber(ARGV[2])
local i = 3
for _ = 1, n do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local kept = {}
while i < #ARGV do
  local id = redis.call('INCR', KEYS[3])
  local entry = '{"id":' .. id .. ',"atMs":' .. ARGV[i] .. ',"event":' .. ARGV[i + 1] .. '}'
  redis.call('RPUSH', KEYS[2], entry)
  kept[#kept + 1] = entry
  i = i + 2
end
if #kept > 0 then
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[1]), -1)
  redis.call('PUBLISH', KEYS[4], '{"kind":"events","kept":[' .. table.concat(kept, ',') .. ']}')
end
return #kept
`

interface Batch {
  counts: LabCounters
  entries: (string | number)[]
  flushed: boolean
}

interface Kept {
  id: number
  atMs: number
  event: NewLabEvent
}
const published = ({ id, atMs, event }: Kept): LabEvent => ({ id, at: new Date(atMs).toISOString(), ...event })

type BusMessage =
  | { kind: 'event'; kept: Kept }
  | { kind: 'events'; kept: Kept[] }
  | { kind: 'clock'; from: string; offsetMs: number }
  | { kind: 'settings'; from: string; settings: LiveSettings }
  | { kind: 'user'; from: string; user: UserAccount }
  | { kind: 'reset'; from: string }

/** The counters as HINCRBY fields: each numeric leaf of LabStats by its JSON path. */
function flatten(value: unknown, path: string[] = [], out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') {
    if (value !== 0) out.push([JSON.stringify(path), value])
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) flatten(inner, [...path, key], out)
  }
  return out
}

function unflatten(fields: Record<string, string>): LabStats {
  const stats = new LabCounters().snapshot() as unknown as Record<string, unknown>
  for (const [field, count] of Object.entries(fields)) {
    const path = JSON.parse(field) as string[]
    let node = stats
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>
    node[path.at(-1) as string] = Number(count)
  }
  return stats as unknown as LabStats
}

export class ClusterState {
  /** This instance, so it skips its own messages on the bus. */
  readonly #self = randomBytes(6).toString('hex')
  readonly #subscriber: Redis
  readonly #pending = new Set<Promise<unknown>>()
  readonly #liveSubscribers = new Set<{ onEvent(event: LabEvent): void; onClose(): void }>()

  constructor(
    private readonly link: RedisLink,
    private readonly parts: { clock: LabClock; settings: LiveSettings; users: UserRegistry; capacity: number; maxSubscribers: number },
  ) {
    this.link.client.defineCommand('rlRecordEvent', { numberOfKeys: 4, lua: RECORD_EVENT })
    this.link.client.defineCommand('rlFlush', { numberOfKeys: 4, lua: FLUSH })
    this.#subscriber = link.client.duplicate({ enableOfflineQueue: true })
    this.#subscriber.on('error', () => undefined)
    this.#subscriber.on('message', (_channel: string, text: string) => this.#receive(JSON.parse(text) as BusMessage))
  }

  /** Joins the cluster: its clock offset and registered users, and the bus. */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(BUS)
    const [offset, users] = await Promise.all([this.link.client.get(CLOCK), this.link.client.hgetall(USERS)])
    if (offset !== null) this.parts.clock.restoreOffset(Number(offset))
    for (const text of Object.values(users)) this.parts.users.restore(JSON.parse(text) as UserAccount)
  }

  close(): void {
    for (const subscriber of this.#liveSubscribers) subscriber.onClose()
    this.#liveSubscribers.clear()
    this.#subscriber.disconnect()
  }

  /** Resolves once every shared write made so far has landed (or failed: a Redis away loses counts, never answers). */
  settled(): Promise<unknown> | undefined {
    return this.#pending.size === 0 ? undefined : Promise.allSettled([...this.#pending])
  }

  #track(write: Promise<unknown>): void {
    const tracked = write.catch(() => undefined).finally(() => this.#pending.delete(tracked))
    this.#pending.add(tracked)
  }

  #batch: Batch | undefined
  #listening: Promise<unknown> | undefined

  /** This turn's batch, flushed on the next (setImmediate), so the requests of one turn share it. */
  #batched(): Batch {
    if (this.#batch) return this.#batch
    const batch: Batch = { counts: new LabCounters(), entries: [], flushed: false }
    this.#batch = batch
    this.#track(new Promise((resolve) => setImmediate(resolve)).then(() => this.#flush(batch)))
    return batch
  }

  #flush(batch: Batch): Promise<unknown> | undefined {
    if (batch.flushed) return undefined
    batch.flushed = true
    if (this.#batch === batch) this.#batch = undefined
    const deltas = flatten(batch.counts.peek())
    if (deltas.length === 0 && batch.entries.length === 0) return undefined
    const flush = (this.link.client as unknown as { rlFlush: (...args: (string | number)[]) => Promise<number> }).rlFlush
    return flush.call(
      this.link.client,
      STATS,
      EVENTS,
      EVENT_ID,
      LIVE,
      this.parts.capacity,
      deltas.length,
      ...deltas.flat(),
      ...batch.entries,
    )
  }

  /** The shared read side's subscription to the lab's domain events. */
  follow(event: LabDomainEvent): void {
    const client = this.link.client
    if (event.type !== 'reset') {
      const batch = this.#batched()
      batch.counts.count(event)
      const entry = logEntryFor(event)
      if (entry) batch.entries.push(this.parts.clock.now(), JSON.stringify(entry))
    } else {
      // What came before the reset lands first (one connection keeps the order), then the reset.
      if (this.#batch) this.#track(this.#flush(this.#batch) ?? Promise.resolve())
      this.#track(client.del(STATS))
    }
    const entry = event.type === 'reset' ? logEntryFor(event) : undefined
    if (entry) {
      const record = (client as unknown as { rlRecordEvent: (...args: (string | number)[]) => Promise<number> }).rlRecordEvent
      this.#track(
        record.call(
          client,
          EVENTS,
          EVENT_ID,
          EVENT_OLDEST,
          LIVE,
          this.parts.capacity,
          this.parts.clock.now(),
          JSON.stringify(entry),
          event.type === 'reset' ? 1 : 0,
        ),
      )
    }
    // What other instances must follow at once: the clock, live settings, users, a reset.
    if (event.type === 'clockMoved') {
      this.#track(client.set(CLOCK, String(event.offsetMs)))
      this.#publish({ kind: 'clock', from: this.#self, offsetMs: event.offsetMs })
    }
    if (event.type === 'configChanged') this.#publish({ kind: 'settings', from: this.#self, settings: { ...this.parts.settings } })
    if (event.type === 'userRegistered') {
      this.#track(client.hset(USERS, event.user.email.toLowerCase(), JSON.stringify(event.user)))
      this.#publish({ kind: 'user', from: this.#self, user: event.user })
    }
    if (event.type === 'reset') {
      this.#track(client.del(CLOCK, USERS))
      this.#publish({ kind: 'reset', from: this.#self })
    }
  }

  #publish(message: BusMessage): void {
    this.#track(this.link.client.publish(BUS, JSON.stringify(message)))
  }

  #receive(message: BusMessage): void {
    if (message.kind === 'event' || message.kind === 'events') {
      for (const kept of message.kind === 'event' ? [message.kept] : message.kept) {
        const event = published(kept)
        for (const subscriber of this.#liveSubscribers) subscriber.onEvent(event)
      }
      return
    }
    if (message.from === this.#self) return
    const { clock, settings, users } = this.parts
    if (message.kind === 'clock') clock.restoreOffset(message.offsetMs)
    if (message.kind === 'settings') Object.assign(settings, message.settings)
    if (message.kind === 'user') users.restore(message.user)
    if (message.kind === 'reset') {
      clock.reset()
      users.reset()
      void this.link.client.get(`${REDIS_PREFIX}cfg`).then(
        (text) => text !== null && Object.assign(settings, JSON.parse(text) as LiveSettings),
        () => undefined,
      )
    }
  }

  /** `GET /_lab/stats`: the cluster's counters. */
  async stats(): Promise<LabStats> {
    return unflatten(await this.link.call(() => this.link.client.hgetall(STATS)))
  }

  /** The cluster's event log, as EventLog.since reads its ring. */
  readonly events: LabEventLog = {
    since: async (afterId = 0, limit = this.parts.capacity): Promise<LabEventsPage> => {
      // A page subscribes before it reads its backlog: once listening, no entry falls in between.
      await this.#listening
      const client = this.link.client
      const [rows, last, oldest] = await this.link.call(() =>
        Promise.all([client.lrange(EVENTS, 0, -1), client.get(EVENT_ID), client.get(EVENT_OLDEST)]),
      )
      const lastId = Number(last ?? 0)
      const oldestKeptId = Number(oldest ?? 1)
      if (afterId > lastId) afterId = 0
      const ringOldest = Math.max(1, lastId - this.parts.capacity + 1)
      const first = Math.max(afterId + 1, ringOldest, oldestKeptId)
      const events = rows
        .map((row) => JSON.parse(row) as Kept)
        .filter((kept) => kept.id >= first)
        .slice(0, limit)
        .map(published)
      return { events, lastId, dropped: Math.max(0, ringOldest - Math.max(afterId + 1, oldestKeptId)) }
    },
    subscribe: (onEvent, onClose) => {
      if (this.#liveSubscribers.size >= this.parts.maxSubscribers) {
        throw new LabError(
          'TOO_MANY_SUBSCRIBERS',
          `${this.parts.maxSubscribers} live event streams are open already (--max-event-streams); close a lab page, or read GET /_lab/events`,
        )
      }
      const subscriber = { onEvent, onClose }
      this.#liveSubscribers.add(subscriber)
      if (this.#liveSubscribers.size === 1) this.#listening = this.#subscriber.subscribe(LIVE).catch(() => undefined)
      return () => {
        this.#liveSubscribers.delete(subscriber)
        if (this.#liveSubscribers.size === 0) this.#subscriber.unsubscribe(LIVE).catch(() => undefined)
      }
    },
    closeSubscribers: () => {
      for (const subscriber of this.#liveSubscribers) subscriber.onClose()
      this.#liveSubscribers.clear()
      this.#subscriber.unsubscribe(LIVE).catch(() => undefined)
    },
  }
}
