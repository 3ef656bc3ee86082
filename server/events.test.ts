import { describe, expect, it } from 'vitest'
import type { LabDomainEvent } from './domain-events.js'
import { EventLog, logEntryFor } from './events.js'
import type { Fault } from './faults.js'

const clock = { now: () => Date.UTC(2026, 0, 1) }

describe('EventLog', () => {
  it('numbers events from 1 and stamps them with the lab clock', () => {
    const log = new EventLog(10, clock)
    log.record({ type: 'login', user: 'usr_1' })
    log.record({ type: 'refresh', status: 200 })
    const page = log.since()
    expect(page.events.map((e) => [e.id, e.type, e.at])).toEqual([
      [1, 'login', '2026-01-01T00:00:00.000Z'],
      [2, 'refresh', '2026-01-01T00:00:00.000Z'],
    ])
    expect(page).toMatchObject({ lastId: 2, dropped: 0 })
    expect(log.since(1).events.map((e) => e.id)).toEqual([2])
  })

  it('stamps each event with its own time as the clock moves, the same millisecond or not', () => {
    let now = Date.UTC(2026, 0, 1)
    const log = new EventLog(10, { now: () => now })
    for (const step of [0, 0, 1, 999, 0, 86_400_000]) {
      now += step
      log.record({ type: 'request' })
    }
    expect(log.since().events.map((e) => e.at)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.001Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-02T00:00:01.000Z',
    ])
  })

  it('keeps only the newest events and says how many a reader missed', () => {
    const log = new EventLog(3, clock)
    for (let i = 0; i < 7; i += 1) log.record({ type: 'request', detail: String(i) })
    const page = log.since(0)
    expect(page.events.map((e) => e.id)).toEqual([5, 6, 7])
    expect(page).toMatchObject({ lastId: 7, dropped: 4 })
    expect(log.since(5)).toMatchObject({ dropped: 0, events: [{ id: 6 }, { id: 7 }] })
  })

  it('honours a limit, and empties on clear while ids keep counting', () => {
    const log = new EventLog(5, clock)
    for (let i = 0; i < 4; i += 1) log.record({ type: 'request' })
    expect(log.since(0, 2).events.map((e) => e.id)).toEqual([1, 2])
    log.clear()
    expect(log.since()).toEqual({ events: [], lastId: 4, dropped: 0 })
    expect(log.record({ type: 'reset' })).toBe(5)
    expect(log.since(2).events.map((e) => e.id)).toEqual([5])
  })

  it('answers a cursor from before a restart (past the end) with everything there is', () => {
    const log = new EventLog(5, clock)
    log.record({ type: 'login' })
    expect(log.since(500).events.map((e) => e.id)).toEqual([1])
  })
})

describe('the event log as a subscriber of domain events', () => {
  const fault: Fault = { id: 1, method: 'POST', path: '/api/auth/refresh', times: 2, remaining: 1, status: 503 }
  const session = { user: 'usr_1', family: 'fam_1', generation: 3 }

  // The entries are a public JSON shape (LabEvent in src/shared/wire.ts): these are the ones the lab wrote before events existed.
  it.each<[string, LabDomainEvent, ReturnType<typeof logEntryFor>]>([
    [
      'a sign-in',
      { type: 'signedIn', user: 'usr_1', family: 'fam_1' },
      { type: 'login', user: 'usr_1', family: 'fam_1', generation: 1, status: 200 },
    ],
    ['a refresh', { type: 'refreshed', ...session }, { type: 'refresh', status: 200, ...session }],
    [
      'a grace reuse',
      { type: 'refreshed', ...session, graceOf: 2 },
      { type: 'refresh', status: 200, ...session, detail: 'grace reuse of generation 2; answered generation 3' },
    ],
    [
      'a refused refresh',
      { type: 'refreshRejected', code: 'REFRESH_TOKEN_EXPIRED', session },
      { type: 'refresh', status: 401, code: 'REFRESH_TOKEN_EXPIRED', ...session },
    ],
    [
      'a refresh of an unknown token',
      { type: 'refreshRejected', code: 'INVALID_REFRESH_TOKEN' },
      { type: 'refresh', status: 401, code: 'INVALID_REFRESH_TOKEN' },
    ],
    [
      'a refresh without a readable token (counted only)',
      { type: 'refreshRejected', code: 'VALIDATION_ERROR', malformed: true },
      undefined,
    ],
    ['a revoked family (counted only)', { type: 'familyRevoked', family: 'fam_1', reason: 'reuse' }, undefined],
    [
      'a logout',
      { type: 'signedOut', user: 'usr_1', family: 'fam_1', via: 'logout' },
      { type: 'logout', user: 'usr_1', family: 'fam_1', status: 200 },
    ],
    [
      'an OAuth revocation',
      { type: 'signedOut', family: 'fam_1', via: 'revocation' },
      { type: 'logout', family: 'fam_1', status: 200, detail: 'revoked through /oauth/revoke' },
    ],
    [
      'a lab revocation',
      { type: 'sessionsRevoked', count: 1, scope: { user: 'a@b.c' } },
      { type: 'revoke', detail: '1 session revoked (user a@b.c)' },
    ],
    [
      'a lab expiry',
      { type: 'tokensExpired', tokens: 'both', scope: { family: 'fam_1' }, marks: [] },
      { type: 'expire', detail: 'both tokens expired now (family fam_1)' },
    ],
    [
      'a clock move',
      { type: 'clockMoved', now: Date.UTC(2030, 0, 1), offsetMs: 35_000 },
      { type: 'clock', detail: 'clock now 2030-01-01T00:00:00.000Z (offset 35000 ms)' },
    ],
    [
      'a fault set',
      { type: 'faultSet', fault },
      { type: 'fault', detail: 'set: POST /api/auth/refresh, answer 503, 1 more call after this' },
    ],
    [
      'a fault taken',
      { type: 'faultInjected', kind: 'status', route: 'POST /api/auth/refresh', fault },
      { type: 'fault', route: 'POST /api/auth/refresh', detail: 'POST /api/auth/refresh, answer 503, 1 more call after this' },
    ],
    ['a refresh answered by a fault (counted only)', { type: 'refreshFaulted' }, undefined],
    [
      'a dropped request',
      { type: 'requestHandled', route: 'GET /api/users', status: 'dropped', family: 'fam_1', startMs: 1.5, endMs: 2.25 },
      { type: 'request', route: 'GET /api/users', status: 0, family: 'fam_1', startMs: 1.5, endMs: 2.25 },
    ],
    [
      'a refused request',
      {
        type: 'requestHandled',
        route: 'GET /api/users',
        status: 401,
        code: 'TOKEN_EXPIRED',
        user: 'usr_1',
        family: 'fam_1',
        startMs: 3,
        endMs: 4,
      },
      {
        type: 'request',
        route: 'GET /api/users',
        status: 401,
        code: 'TOKEN_EXPIRED',
        user: 'usr_1',
        family: 'fam_1',
        startMs: 3,
        endMs: 4,
      },
    ],
  ])('logs %s as it always has', (_, event, entry) => {
    expect(logEntryFor(event)).toStrictEqual(entry)
  })

  it('starts over at a reset, the reset its first entry, ids still counting', () => {
    const log = new EventLog(10, clock)
    log.follow({ type: 'signedIn', user: 'usr_1', family: 'fam_1' })
    log.follow({ type: 'refreshFaulted' })
    log.follow({ type: 'reset' })
    expect(log.since().events.map((e) => [e.id, e.type])).toEqual([[2, 'reset']])
  })
})
