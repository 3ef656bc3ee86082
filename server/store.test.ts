import { describe, expect, it } from 'vitest'
import { RECENT_ROTATED_KEPT, RefreshStore, type RotateOutcome, type RotationSettings } from './store.js'

const T0 = 1_700_000_000_000

function setup(overrides: Partial<RotationSettings> = {}) {
  const settings: RotationSettings = {
    refreshTtlMs: 60_000,
    sessionTtlMs: 3_600_000,
    reuseGraceMs: 0,
    reuseGraceCount: 0,
    graceReturns: 'existing',
    ...overrides,
  }
  const store = new RefreshStore(settings)
  const login = store.createFamily('usr_1', T0)
  return { settings, store, login }
}

function issued(outcome: RotateOutcome): { token: string; generation: number } {
  if (outcome.kind !== 'rotated' && outcome.kind !== 'grace') throw new Error(`expected a token, got ${outcome.kind}`)
  return outcome
}

describe('RefreshStore.rotate', () => {
  it('rotates an active token into a child of the next generation', () => {
    const { store, login } = setup()
    const outcome = store.rotate(login.token, T0 + 1)
    expect(outcome.kind).toBe('rotated')
    const child = issued(outcome)
    expect(child.generation).toBe(2)
    expect(child.token).not.toBe(login.token)
    expect(child.token).toMatch(/^[A-Za-z0-9_-]{48}$/) // 36 bytes, base64url (server/refresh-token-format.ts)
    expect(store.family(login.family.id)?.generation).toBe(2)
  })

  it('refuses an unknown token as INVALID_REFRESH_TOKEN', () => {
    const { store } = setup()
    expect(store.rotate('not-a-token', T0)).toEqual({ kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' })
  })

  it('refuses a token of a revoked family as REFRESH_TOKEN_REVOKED', () => {
    const { store, login } = setup()
    store.revokeFamily(login.family.id, 'logout', T0)
    expect(store.rotate(login.token, T0 + 1)).toMatchObject({ kind: 'rejected', code: 'REFRESH_TOKEN_REVOKED', generation: 1 })
  })

  it('refuses a token at or past its expiry as REFRESH_TOKEN_EXPIRED', () => {
    const { store, login } = setup({ refreshTtlMs: 1_000 })
    expect(store.rotate(login.token, T0 + 1_000)).toMatchObject({ kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED' })
    expect(store.isActive(login.family.id)).toBe(true)
  })

  it('slides the expiry: each child lives a full refresh TTL from its own issue', () => {
    const { store, login } = setup({ refreshTtlMs: 1_000 })
    const child = issued(store.rotate(login.token, T0 + 900))
    expect(store.rotate(child.token, T0 + 1_800).kind).toBe('rotated')
  })

  it('ends the session at its absolute expiry, however recently it refreshed', () => {
    const { store, login } = setup({ refreshTtlMs: 1_000, sessionTtlMs: 2_500 })
    const second = issued(store.rotate(login.token, T0 + 900))
    const third = issued(store.rotate(second.token, T0 + 1_800))
    expect(store.rotate(third.token, T0 + 2_500)).toMatchObject({ kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', generation: 3 })
  })

  it('detects reuse even when the lab clock was set back before the replay', () => {
    const { store, login } = setup({ reuseGraceMs: 0 })
    store.rotate(login.token, T0 + 5_000)
    expect(store.rotate(login.token, T0 + 1_000).kind).toBe('reuse')
  })

  it('revokes the complete family if a rotated token is used again outside the grace', () => {
    const { store, login } = setup()
    const child = issued(store.rotate(login.token, T0 + 10))
    const replay = store.rotate(login.token, T0 + 250)
    expect(replay).toMatchObject({ kind: 'reuse', code: 'REFRESH_TOKEN_REUSED', generation: 1, sinceRotationMs: 240 })
    expect(store.family(login.family.id)).toMatchObject({ status: 'revoked', revokedReason: 'reuse', revokedAt: T0 + 250 })
    // The legitimate child dies with its family.
    expect(store.rotate(child.token, T0 + 260)).toMatchObject({ code: 'REFRESH_TOKEN_REVOKED', generation: 2 })
  })

  it('treats a same-millisecond replay as reuse when the grace is 0', () => {
    const { store, login } = setup({ reuseGraceMs: 0 })
    store.rotate(login.token, T0)
    expect(store.rotate(login.token, T0).kind).toBe('reuse')
  })

  it('returns the child already issued for a reuse inside the grace, without a new generation', () => {
    const { store, login } = setup({ reuseGraceMs: 2_000 })
    const child = issued(store.rotate(login.token, T0))
    const again = store.rotate(login.token, T0 + 1_999)
    expect(again).toMatchObject({ kind: 'grace', replayedGeneration: 1, generation: 2, token: child.token })
    expect(store.family(login.family.id)).toMatchObject({ status: 'active', generation: 2 })
  })

  it('returns the newest token when the child was rotated too, still inside the grace', () => {
    const { store, login } = setup({ reuseGraceMs: 5_000 })
    const child = issued(store.rotate(login.token, T0))
    const grandchild = issued(store.rotate(child.token, T0 + 10))
    expect(store.rotate(login.token, T0 + 20)).toMatchObject({ kind: 'grace', generation: 3, token: grandchild.token })
  })

  it('detects reuse once the grace has passed', () => {
    const { store, login } = setup({ reuseGraceMs: 2_000 })
    store.rotate(login.token, T0)
    expect(store.rotate(login.token, T0 + 2_000).kind).toBe('reuse')
  })

  it('with a grace by count, lets a rotated token be spent again that many times, whenever', () => {
    const { store, login } = setup({ reuseGraceCount: 2 })
    const child = issued(store.rotate(login.token, T0))
    expect(store.rotate(login.token, T0 + 50_000)).toMatchObject({ kind: 'grace', token: child.token })
    expect(store.rotate(login.token, T0 + 1)).toMatchObject({ kind: 'grace', token: child.token })
    expect(store.rotate(login.token, T0 + 2).kind).toBe('reuse')
  })

  it('with a grace by time and count, needs both to hold', () => {
    const { store, login } = setup({ reuseGraceMs: 1_000, reuseGraceCount: 1 })
    store.rotate(login.token, T0)
    expect(store.rotate(login.token, T0 + 10).kind).toBe('grace')
    expect(store.rotate(login.token, T0 + 20).kind).toBe('reuse') // count used up, though still in time
    const second = setup({ reuseGraceMs: 1_000, reuseGraceCount: 5 })
    second.store.rotate(second.login.token, T0)
    expect(second.store.rotate(second.login.token, T0 + 1_000).kind).toBe('reuse') // out of time
  })

  it('answers a grace reuse with a fresh child when told to, as Auth0 does', () => {
    const { store, login } = setup({ reuseGraceMs: 5_000, graceReturns: 'new' })
    const child = issued(store.rotate(login.token, T0))
    const fresh = issued(store.rotate(login.token, T0 + 10))
    expect(fresh.token).not.toBe(child.token)
    expect(fresh.generation).toBe(3)
    // Both the child and the fresh one are live tokens of the family.
    expect(store.rotate(fresh.token, T0 + 20).kind).toBe('rotated')
    expect(store.rotate(child.token, T0 + 30).kind).toBe('rotated')
  })

  describe("with graceReturns 'parent' (GoTrue's reuse interval)", () => {
    it('forgives the direct parent of the newest token inside the grace, answering the newest', () => {
      const { store, login } = setup({ reuseGraceMs: 10_000, graceReturns: 'parent' })
      const child = issued(store.rotate(login.token, T0))
      expect(store.rotate(login.token, T0 + 5_000)).toMatchObject({
        kind: 'grace',
        replayedGeneration: 1,
        generation: 2,
        token: child.token,
      })
      // Still the parent: a second replay inside the grace gets the same child, no new generation.
      expect(store.rotate(login.token, T0 + 6_000)).toMatchObject({ kind: 'grace', token: child.token })
      expect(store.family(login.family.id)?.generation).toBe(2)
    })

    it('treats an older rotated token as reuse even inside the grace, where existing would forgive it', () => {
      const parent = setup({ reuseGraceMs: 10_000, graceReturns: 'parent' })
      const child = issued(parent.store.rotate(parent.login.token, T0))
      const grandchild = issued(parent.store.rotate(child.token, T0 + 1_000))
      // RT0 -> RT1 -> RT2, then RT0 within 10 s: not RT2's parent, so the family goes.
      expect(parent.store.rotate(parent.login.token, T0 + 2_000)).toMatchObject({ kind: 'reuse', generation: 1 })
      expect(parent.store.isActive(parent.login.family.id)).toBe(false)
      expect(parent.store.rotate(grandchild.token, T0 + 3_000)).toMatchObject({ kind: 'rejected', code: 'REFRESH_TOKEN_REVOKED' })

      const existing = setup({ reuseGraceMs: 10_000, graceReturns: 'existing' })
      const c1 = issued(existing.store.rotate(existing.login.token, T0))
      const c2 = issued(existing.store.rotate(c1.token, T0 + 1_000))
      expect(existing.store.rotate(existing.login.token, T0 + 2_000)).toMatchObject({ kind: 'grace', token: c2.token })
    })

    it('forgives the parent only inside the grace, and the grandchild rotation makes the child the parent', () => {
      const { store, login } = setup({ reuseGraceMs: 10_000, graceReturns: 'parent' })
      const child = issued(store.rotate(login.token, T0))
      const grandchild = issued(store.rotate(child.token, T0 + 1_000))
      expect(store.rotate(child.token, T0 + 2_000)).toMatchObject({ kind: 'grace', replayedGeneration: 2, token: grandchild.token })
      expect(store.rotate(child.token, T0 + 1_000 + 10_000)).toMatchObject({ kind: 'reuse', generation: 2 })
    })

    it('with a count too, needs both limits to hold', () => {
      const { store, login } = setup({ reuseGraceMs: 10_000, reuseGraceCount: 1, graceReturns: 'parent' })
      store.rotate(login.token, T0)
      expect(store.rotate(login.token, T0 + 10).kind).toBe('grace')
      expect(store.rotate(login.token, T0 + 20).kind).toBe('reuse')
    })
  })

  it('reads live settings on every call', () => {
    const { settings, store, login } = setup()
    settings.reuseGraceMs = 10_000
    store.rotate(login.token, T0)
    expect(store.rotate(login.token, T0 + 5).kind).toBe('grace')
  })

  it('lets exactly one of many concurrent rotations with one token win', async () => {
    const { store, login } = setup()
    // Each attempt yields to the event loop first, as a request handler does after reading its body.
    const outcomes = await Promise.all(
      Array.from({ length: 1_000 }, async () => {
        await new Promise((resolve) => setImmediate(resolve))
        return store.rotate(login.token, T0 + 1)
      }),
    )
    const kinds = outcomes.map((o) => o.kind)
    expect(kinds.filter((k) => k === 'rotated')).toHaveLength(1)
    expect(kinds.filter((k) => k === 'reuse')).toHaveLength(1)
    expect(kinds.filter((k) => k === 'rejected')).toHaveLength(998)
    expect(store.isActive(login.family.id)).toBe(false)
  })
})

/** Rotates the chain `times` times, `stepMs` apart from `start`; returns every token, login first. */
function chain(store: RefreshStore, first: string, times: number, start = T0, stepMs = 10): string[] {
  const tokens = [first]
  for (let i = 1; i <= times; i += 1) tokens.push(issued(store.rotate(tokens[i - 1] as string, start + i * stepMs)).token)
  return tokens
}

describe('RefreshStore: forgetting settled rotated tokens (docs/design.md, "Refresh tokens that describe themselves")', () => {
  it('keeps one record per session plus its newest rotated ones, however long it refreshes', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    chain(store, login.token, 1_000, T0, 1)
    expect(store.size).toEqual({ families: 1, tokens: 1 + RECENT_ROTATED_KEPT })
  })

  it('still catches a forgotten token spent again, revoking its family, with a lower bound for its age', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    const tokens = chain(store, login.token, 20)
    // Generation 12 was the newest forgotten, rotated at T0 + 120: generation 1's age is at least that.
    expect(store.rotate(login.token, T0 + 1_000)).toMatchObject({
      kind: 'reuse',
      code: 'REFRESH_TOKEN_REUSED',
      generation: 1,
      sinceRotationMs: 1_000 - 120,
      ageAtLeast: true,
    })
    expect(store.family(login.family.id)).toMatchObject({ status: 'revoked', revokedReason: 'reuse' })
    expect(store.rotate(tokens[20] as string, T0 + 1_001)).toMatchObject({ code: 'REFRESH_TOKEN_REVOKED', generation: 21 })
  })

  it('reports the exact age of a replay of one of the newest rotated tokens', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    const tokens = chain(store, login.token, 20)
    const replay = store.rotate(tokens[19] as string, T0 + 1_000)
    expect(replay).toMatchObject({ kind: 'reuse', generation: 20, sinceRotationMs: 1_000 - 200 })
    expect(replay).not.toHaveProperty('ageAtLeast')
  })

  it('answers a forgotten token past its own expiry as expired, not as a reuse', () => {
    const { store, login } = setup({ refreshTtlMs: 5_000 })
    chain(store, login.token, 20, T0, 100)
    expect(store.rotate(login.token, T0 + 5_000)).toMatchObject({ kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', generation: 1 })
    expect(store.isActive(login.family.id)).toBe(true)
  })

  it("applies the lab's early expiry to forgotten tokens, but not to tokens issued after it", () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    const tokens = chain(store, login.token, 20)
    store.expireRefreshTokens(T0 + 500)
    expect(store.rotate(login.token, T0 + 600)).toMatchObject({ code: 'REFRESH_TOKEN_EXPIRED', generation: 1 })
    expect(store.rotate(tokens[20] as string, T0 + 600)).toMatchObject({ code: 'REFRESH_TOKEN_EXPIRED', generation: 21 })
    const again = store.createFamily('usr_1', T0 + 700)
    const later = chain(store, again.token, 20, T0 + 700)
    expect(store.rotate(later[20] as string, T0 + 1_000).kind).toBe('rotated')
    expect(store.isActive(login.family.id)).toBe(true)
  })

  it('keeps a rotated record while a grace could still forgive it, then forgets it', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000, reuseGraceMs: 5_000 })
    const tokens = chain(store, login.token, 20)
    expect(store.size.tokens).toBe(21)
    expect(store.rotate(login.token, T0 + 1_000)).toMatchObject({ kind: 'grace', generation: 21, token: tokens[20] })
    chain(store, tokens[20] as string, 1, T0 + 10_000)
    expect(store.size.tokens).toBe(1 + RECENT_ROTATED_KEPT)
    expect(store.rotate(login.token, T0 + 10_001)).toMatchObject({ kind: 'reuse', generation: 1, ageAtLeast: true })
  })

  it("with graceReturns 'parent', forgets a rotated token once its child has rotated", () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000, reuseGraceMs: 3_600_000, graceReturns: 'parent' })
    const tokens = chain(store, login.token, 20)
    expect(store.size.tokens).toBe(1 + RECENT_ROTATED_KEPT)
    expect(store.rotate(tokens[19] as string, T0 + 300)).toMatchObject({ kind: 'grace', token: tokens[20] })
  })

  it('describes a forgotten token for introspection and revocation, and never accepts it', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    chain(store, login.token, 20)
    expect(store.lookup(login.token)).toMatchObject({ familyId: login.family.id, generation: 1, expiresAt: T0 + 3_600_000 })
    expect(store.accepts(login.token, T0 + 300)).toBe(false)
  })

  it('with the lab clock set back, answers a swept token that was never rotated as unknown, not as a reuse', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000, sessionTtlMs: 86_400_000 })
    const tokens = chain(store, login.token, 20)
    store.sweep(T0 + 3 * 3_600_000) // the newest token expired an hour before: its record goes
    expect(store.rotate(tokens[20] as string, T0 + 1_000)).toEqual({ kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' })
    expect(store.isActive(login.family.id)).toBe(true)
  })

  it('a later early expiry does not move an earlier one of the same tokens, whatever the clock does', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    const tokens = chain(store, login.token, 20)
    store.expireRefreshTokens(T0 + 1_000)
    store.expireRefreshTokens(T0 + 5_000)
    expect(store.rotate(tokens[19] as string, T0 + 2_000)).toMatchObject({ code: 'REFRESH_TOKEN_EXPIRED' })
    expect(store.rotate(login.token, T0 + 2_000)).toMatchObject({ code: 'REFRESH_TOKEN_EXPIRED', generation: 1 })
    expect(store.isActive(login.family.id)).toBe(true)
  })

  it('refuses a token whose MAC does not hold, or that another store signed, as unknown', () => {
    const { store, login } = setup({ refreshTtlMs: 3_600_000 })
    chain(store, login.token, 20)
    const forged = `${login.token.slice(0, 40)}${login.token[40] === 'A' ? 'B' : 'A'}${login.token.slice(41)}`
    expect(store.rotate(forged, T0 + 300)).toEqual({ kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' })
    const other = new RefreshStore({
      refreshTtlMs: 60_000,
      sessionTtlMs: 3_600_000,
      reuseGraceMs: 0,
      reuseGraceCount: 0,
      graceReturns: 'existing',
    })
    expect(other.rotate(login.token, T0 + 300)).toEqual({ kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' })
    expect(store.isActive(login.family.id)).toBe(true)
  })
})

describe('RefreshStore.sweep', () => {
  it('forgets sessions an hour after they were revoked or expired, with their tokens, and nothing live', () => {
    const { store, login } = setup({ refreshTtlMs: 60_000, sessionTtlMs: 600_000 })
    const live = store.createFamily('usr_2', T0)
    const liveChild = issued(store.rotate(live.token, T0 + 30_000))
    store.revokeFamily(login.family.id, 'logout', T0 + 1_000)
    expect(store.sweep(T0 + 1_000 + 3_599_999)).toBe(0)
    expect(store.rotate(login.token, T0 + 2_000).kind).toBe('rejected') // still known: REVOKED, not INVALID
    expect(store.sweep(T0 + 1_000 + 3_600_000)).toBe(1)
    expect(store.family(login.family.id)).toBeUndefined()
    expect(store.rotate(login.token, T0 + 3_601_001)).toEqual({ kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' })
    // The live session keeps its tokens until an hour past their own expiry.
    expect(store.family(live.family.id)?.status).toBe('active')
    expect(store.size).toEqual({ families: 1, tokens: 2 })
    store.sweep(T0 + 30_000 + 60_000 + 3_600_000 - 1)
    expect(store.size).toEqual({ families: 1, tokens: 1 }) // the rotated login token has gone
    expect(liveChild.generation).toBe(2)
  })

  it('forgets an expired session an hour after its absolute end', () => {
    const { store } = setup({ refreshTtlMs: 60_000, sessionTtlMs: 120_000 })
    store.createFamily('usr_3', T0)
    expect(store.sweep(T0 + 120_000 + 3_600_000 - 1)).toBe(0)
    expect(store.sweep(T0 + 120_000 + 3_600_000)).toBe(2) // this one and setup()'s, both signed in at T0
    expect(store.size).toEqual({ families: 0, tokens: 0 })
  })
})

describe('RefreshStore.revokeFamily', () => {
  it('revokes once and reports whether anything changed', () => {
    const { store, login } = setup()
    expect(store.revokeFamily(login.family.id, 'lab', T0)).toBe(true)
    expect(store.revokeFamily(login.family.id, 'lab', T0)).toBe(false)
    expect(store.revokeFamily('fam_unknown', 'lab', T0)).toBe(false)
  })

  it('forgets every session on clear', () => {
    const { store, login } = setup()
    store.clear()
    expect(store.family(login.family.id)).toBeUndefined()
    expect(store.rotate(login.token, T0).kind).toBe('rejected')
  })
})
