import { describe, expect, it } from 'vitest'
import { pickLiveSettings } from '../src/shared/settings.js'
import { resolveServerConfig } from './config.js'
import type { LabDomainEvent } from './domain-events.js'
import type { Fault } from './faults.js'
import { LabCounters } from './stats.js'

const fault: Fault = { id: 1, path: '/api/auth/refresh', times: 1, remaining: 0, status: 503 }
// The settings at their defaults, from the one settings list, so a new setting needs no edit here.
const config = {
  ...pickLiveSettings(resolveServerConfig({}, {})),
  profile: 'simple' as const,
  alg: 'HS256',
  issuer: 'http://localhost',
  users: [],
}

describe('LabCounters.count', () => {
  it('counts each refresh call once, whatever ended it: rotated, refused, reused or faulted', () => {
    const counters = new LabCounters()
    const session = { user: 'usr_1', family: 'fam_1', generation: 1 }
    counters.count({ type: 'refreshed', ...session })
    counters.count({ type: 'refreshed', ...session, graceOf: 1 })
    counters.count({ type: 'refreshRejected', code: 'REFRESH_TOKEN_EXPIRED', session })
    counters.count({ type: 'refreshRejected', code: 'VALIDATION_ERROR', malformed: true })
    counters.count({ type: 'reuseDetected', code: 'REFRESH_TOKEN_REUSED', ...session, sinceRotationMs: 5 })
    counters.count({ type: 'refreshFaulted' })
    expect(counters.snapshot().refresh).toEqual({
      calls: 6,
      succeeded: 2,
      rejected: 3,
      rejectedByCode: { REFRESH_TOKEN_EXPIRED: 1, VALIDATION_ERROR: 1, REFRESH_TOKEN_REUSED: 1 },
      graceReuses: 1,
      faulted: 1,
    })
  })

  it('files every other event under its own counter, and leaves the rest alone', () => {
    const counters = new LabCounters()
    const events: LabDomainEvent[] = [
      { type: 'signedIn', user: 'usr_1', family: 'fam_1' },
      { type: 'userRegistered', user: { id: 'usr_2', email: 'a@b.c', password: 'p', name: 'a' } },
      { type: 'familyRevoked', family: 'fam_1', reason: 'logout' },
      { type: 'signedOut', user: 'usr_1', family: 'fam_1', via: 'logout' },
      { type: 'sessionsRevoked', count: 0, scope: {} },
      { type: 'tokensExpired', tokens: 'access', scope: {}, marks: [{ through: 1 }] },
      { type: 'clockMoved', now: 0, offsetMs: 0 },
      { type: 'configChanged', config },
      { type: 'faultSet', fault },
      { type: 'faultInjected', kind: 'status', route: 'POST /api/auth/refresh', fault },
      { type: 'requestHandled', route: 'POST /api/auth/login', status: 200, startMs: 1, endMs: 2 },
      { type: 'requestHandled', route: 'POST /api/auth/login', status: 'dropped', startMs: 3, endMs: 4 },
    ]
    for (const event of events) counters.count(event)
    expect(counters.snapshot()).toEqual({
      refresh: { calls: 0, succeeded: 0, rejected: 0, rejectedByCode: {}, graceReuses: 0, faulted: 0 },
      faults: { injected: 1, delay: 0, status: 1, drop: 0 },
      lab: { clockMoves: 1, expiries: 1, revocations: 1, configChanges: 1 },
      logins: 1,
      reuseDetected: 0,
      familiesRevoked: 1,
      requests: { 'POST /api/auth/login': { '200': 1, dropped: 1 } },
    })
  })

  it('starts from zero at a reset', () => {
    const counters = new LabCounters()
    counters.count({ type: 'signedIn', user: 'usr_1', family: 'fam_1' })
    counters.count({ type: 'reset' })
    expect(counters.snapshot().logins).toBe(0)
  })
})
