import { describe, expect, it } from 'vitest'
import { describeSignedIn } from '../session-state.js'
import { evaluate, type Observed } from './evaluate.js'

const seen = (over: Partial<Observed> = {}): Observed => ({
  clientRefreshes: 1,
  serverRefreshes: 1,
  reuseDetected: false,
  reuses: 0,
  replays: 0,
  outcomes: [],
  loggedOut: false,
  sessionLost: false,
  signedInState: 'yes',
  onLogoutCalls: 0,
  calls: 4,
  maxCalls: 50,
  timedOut: false,
  timeoutMs: 10_000,
  profile: 'simple',
  ...over,
})

const named = (name: string, expectations: ReturnType<typeof evaluate>) => expectations.find((e) => e.name === name)

describe('evaluate', () => {
  it("a burst's reuse check says how many reuses the server detected and how many tokens the client replayed", () => {
    const reused = seen({ reuseDetected: true, reuses: 1, replays: 9 })
    expect(named('no refresh-token reuse', evaluate({ requests: 'any', noReuse: true }, reused))).toEqual({
      name: 'no refresh-token reuse',
      pass: false,
      expected: 'none',
      actual: '1 detected, 9 replayed',
    })
    // Replays are unknown when the client's calls bypassed the harness's fetch.
    expect(named('no refresh-token reuse', evaluate({ requests: 'any', noReuse: true }, { ...reused, replays: undefined }))?.actual).toBe(
      '1 detected',
    )
    expect(named('no refresh-token reuse', evaluate({ requests: 'any', noReuse: true }, seen()))).toMatchObject({
      pass: true,
      actual: 'none',
    })
  })

  it("a file's reuse check says yes or no", () => {
    const expectations = evaluate({ requests: 'any', reuse: false }, seen({ reuseDetected: true, reuses: 1 }))
    expect(named('reuse detected', expectations)).toEqual({ name: 'reuse detected', pass: false, expected: 'no', actual: 'yes' })
    expect(named('no refresh-token reuse', expectations)).toBeUndefined()
  })

  it("checks 'finished in time' unless told not to", () => {
    expect(named('finished in time', evaluate({ requests: 'any' }, seen({ timedOut: true })))).toMatchObject({
      pass: false,
      actual: 'timed out',
    })
    expect(named('finished in time', evaluate({ requests: 'any', finishedInTime: false }, seen({ timedOut: true })))).toBeUndefined()
  })
})

describe('describeSignedIn', () => {
  it('says why a client is no longer signed in', () => {
    expect(describeSignedIn(false, { state: 'active' })).toBe('yes')
    expect(describeSignedIn(true, { state: 'active' })).toBe('no, signed out')
    expect(describeSignedIn(false, { state: 'revoked', revokedReason: 'reuse' })).toBe('no, session revoked on the server (reuse)')
    expect(describeSignedIn(false, { state: 'unknown' })).toBe('no, session unknown')
  })
})
