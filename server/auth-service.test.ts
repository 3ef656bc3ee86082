import { describe, expect, it } from 'vitest'
import { rotateEvents } from './auth-service.js'
import type { LabDomainEvent } from './domain-events.js'
import { logEntryFor } from './events.js'
import { LabCounters } from './stats.js'
import { RefreshStore, type RotationSettings } from './store.js'

const settings = (over: Partial<RotationSettings> = {}): RotationSettings => ({
  refreshTtlMs: 60_000,
  sessionTtlMs: 3_600_000,
  reuseGraceMs: 0,
  reuseGraceCount: 0,
  graceReturns: 'existing',
  ...over,
})

/** What the counters make of a list of events. */
function counted(events: LabDomainEvent[]) {
  const counters = new LabCounters()
  for (const event of events) counters.count(event)
  return counters.snapshot()
}

describe('rotateEvents', () => {
  it('revokes the family and refuses the refresh when a rotated token is replayed outside the grace', () => {
    const store = new RefreshStore(settings())
    const { token, family } = store.createFamily('usr_1', 0)
    store.rotate(token, 1_000)
    const events = rotateEvents(store.rotate(token, 3_000))
    expect(events).toEqual([
      { type: 'familyRevoked', family: family.id, reason: 'reuse' },
      { type: 'reuseDetected', code: 'REFRESH_TOKEN_REUSED', user: 'usr_1', family: family.id, generation: 1, sinceRotationMs: 2_000 },
    ])
    expect(counted(events)).toMatchObject({
      refresh: { calls: 1, succeeded: 0, rejected: 1, rejectedByCode: { REFRESH_TOKEN_REUSED: 1 } },
      reuseDetected: 1,
      familiesRevoked: 1,
    })
    // One entry in the log, as the lab page has always drawn it.
    expect(events.map(logEntryFor).filter(Boolean)).toEqual([
      {
        type: 'reuse_detected',
        status: 401,
        code: 'REFRESH_TOKEN_REUSED',
        user: 'usr_1',
        family: family.id,
        generation: 1,
        detail: 'generation 1 replayed 2000 ms after it was rotated; family revoked',
      },
    ])
  })

  it('says "at least" in the log for a token whose record was forgotten', () => {
    const store = new RefreshStore(settings(), undefined, { keepRotated: 0 })
    const { token, family } = store.createFamily('usr_1', 0)
    const child = store.rotate(token, 1_000) as { token: string }
    store.rotate(child.token, 1_500)
    const events = rotateEvents(store.rotate(token, 3_000))
    expect(events[1]).toMatchObject({ type: 'reuseDetected', family: family.id, generation: 1, sinceRotationMs: 1_500, ageAtLeast: true })
    expect(events.map(logEntryFor).filter(Boolean)).toMatchObject([
      { type: 'reuse_detected', detail: 'generation 1 replayed at least 1500 ms after it was rotated; family revoked' },
    ])
  })

  it('makes a rotation one refreshed event, counted as one successful call', () => {
    const store = new RefreshStore(settings())
    const { token, family } = store.createFamily('usr_1', 0)
    const events = rotateEvents(store.rotate(token, 1_000))
    expect(events).toEqual([{ type: 'refreshed', user: 'usr_1', family: family.id, generation: 2 }])
    expect(counted(events).refresh).toEqual({ calls: 1, succeeded: 1, rejected: 0, rejectedByCode: {}, graceReuses: 0, faulted: 0 })
  })

  it('marks a grace reuse with the generation replayed, counted as a success and a grace reuse', () => {
    const store = new RefreshStore(settings({ reuseGraceMs: 5_000 }))
    const { token, family } = store.createFamily('usr_1', 0)
    store.rotate(token, 1_000)
    const events = rotateEvents(store.rotate(token, 2_000))
    expect(events).toEqual([{ type: 'refreshed', user: 'usr_1', family: family.id, generation: 2, graceOf: 1 }])
    expect(counted(events).refresh).toMatchObject({ calls: 1, succeeded: 1, graceReuses: 1 })
  })

  it('names the session of a refused token when the store knows it, and no session for an unknown token', () => {
    const store = new RefreshStore(settings())
    const { token, family } = store.createFamily('usr_1', 0)
    store.revokeFamily(family.id, 'lab', 10)
    expect(rotateEvents(store.rotate(token, 20))).toEqual([
      { type: 'refreshRejected', code: 'REFRESH_TOKEN_REVOKED', session: { user: 'usr_1', family: family.id, generation: 1 } },
    ])
    expect(rotateEvents(store.rotate('nope', 20))).toEqual([{ type: 'refreshRejected', code: 'INVALID_REFRESH_TOKEN' }])
  })
})
