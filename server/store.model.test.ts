import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RefreshStore, type RotateOutcome, type RotationSettings } from './store.js'

/**
 * Model-based test: random sequences of login, refresh (of any token ever issued, so reuses
 * happen), revoke, early expiry and clock moves, applied to the real store and to a tiny model
 * written from docs/design.md's rules, compared after every step.
 */
interface ModelToken {
  family: number
  generation: number
  expiresAt: number
  rotatedAt: number | null
  graceUses: number
  /** The next token of the chain, once rotated. */
  child?: string
}

interface ModelFamily {
  id: string
  revoked: boolean
  expiresAt: number
  generation: number
}

class Model {
  readonly tokens = new Map<string, ModelToken>()
  readonly families: ModelFamily[] = []
  constructor(private readonly s: RotationSettings) {}

  login(id: string, token: string, now: number) {
    const family: ModelFamily = { id, revoked: false, expiresAt: now + this.s.sessionTtlMs, generation: 1 }
    this.families.push(family)
    this.tokens.set(token, {
      family: this.families.length - 1,
      generation: 1,
      expiresAt: Math.min(now + this.s.refreshTtlMs, family.expiresAt),
      rotatedAt: null,
      graceUses: 0,
    })
  }

  /** What the store must answer, as kind/code and generation; `issued` is the real store's new token, if any. */
  rotate(token: string, now: number, issued: string | undefined): string {
    const t = this.tokens.get(token)
    if (!t) return 'rejected INVALID_REFRESH_TOKEN'
    const f = this.families[t.family] as ModelFamily
    if (f.revoked) return `rejected REFRESH_TOKEN_REVOKED ${t.generation}`
    if (now >= t.expiresAt || now >= f.expiresAt) return `rejected REFRESH_TOKEN_EXPIRED ${t.generation}`
    if (t.rotatedAt !== null) {
      const since = now - t.rotatedAt
      const { reuseGraceMs: ms, reuseGraceCount: count } = this.s
      const inside = (ms > 0 || count > 0) && (ms === 0 || (since >= 0 && since < ms)) && (count === 0 || t.graceUses < count)
      // With 'parent', only the direct parent of the chain's newest token is forgiven.
      const child = t.child === undefined ? undefined : this.tokens.get(t.child)
      const forgiven = this.s.graceReturns !== 'parent' || (child !== undefined && child.rotatedAt === null)
      if (inside && forgiven) {
        t.graceUses += 1
        let newest = t
        while (newest.child !== undefined && (this.tokens.get(newest.child) as ModelToken).rotatedAt !== null)
          newest = this.tokens.get(newest.child) as ModelToken
        const answer = newest.child === undefined ? newest : (this.tokens.get(newest.child) as ModelToken)
        return now >= answer.expiresAt ? `rejected REFRESH_TOKEN_EXPIRED ${answer.generation}` : `grace ${answer.generation}`
      }
      f.revoked = true
      return `reuse REFRESH_TOKEN_REUSED ${t.generation}`
    }
    t.rotatedAt = now
    f.generation = t.generation + 1
    if (issued !== undefined) {
      t.child = issued
      this.tokens.set(issued, {
        family: t.family,
        generation: t.generation + 1,
        expiresAt: Math.min(now + this.s.refreshTtlMs, f.expiresAt),
        rotatedAt: null,
        graceUses: 0,
      })
    }
    return `rotated ${t.generation + 1}`
  }

  revoke(index: number) {
    const f = this.families[index]
    if (f) f.revoked = true
  }

  expireRefresh(now: number) {
    for (const t of this.tokens.values()) if (t.expiresAt > now) t.expiresAt = now
  }
}

function describeOutcome(o: RotateOutcome): string {
  switch (o.kind) {
    case 'rotated':
      return `rotated ${o.generation}`
    case 'grace':
      return `grace ${o.generation}`
    case 'reuse':
      return `reuse ${o.code} ${o.generation}`
    case 'rejected':
      return 'family' in o ? `rejected ${o.code} ${o.generation}` : `rejected ${o.code}`
  }
}

const action = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ do: 'login' as const }) },
  // Mostly one of the newest tokens, so rotations, grace reuses and reuses pile up on one chain.
  { weight: 6, arbitrary: fc.record({ do: fc.constant('refresh' as const), pick: fc.nat(), recent: fc.boolean() }) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ do: 'revoke' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ do: 'expire' as const }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 500, 3_000, 60_000, 3_600_000).map((ms) => ({ do: 'advance' as const, ms })) },
)

const settings = fc.record({
  refreshTtlMs: fc.constantFrom(3_600_000, 7_200_000),
  sessionTtlMs: fc.constantFrom(3_600_000, 10_800_000),
  reuseGraceMs: fc.constantFrom(0, 5_000),
  reuseGraceCount: fc.constantFrom(0, 2),
  graceReturns: fc.constantFrom('existing' as const, 'parent' as const),
})

describe('RefreshStore against a model of the rules', () => {
  // The model keeps every token; the store forgets settled rotated records. Keeping none of them
  // whole makes every replay of an older token go through the record-less path.
  it.each([
    ['keeping the newest rotated records whole', undefined],
    ['forgetting every settled rotated record at once', 0],
  ])('agrees on every outcome over random sequences, %s (300 runs of 30 to 100 steps)', (_, keepRotated) => {
    fc.assert(
      fc.property(settings, fc.array(action, { minLength: 30, maxLength: 100, size: 'max' }), (s, actions) => {
        const store = new RefreshStore({ ...s }, undefined, keepRotated === undefined ? {} : { keepRotated })
        const model = new Model(s)
        const issuedTokens: string[] = []
        let now = 1_700_000_000_000
        for (const a of actions) {
          if (a.do === 'login') {
            const issued = store.createFamily('usr_1', now)
            model.login(issued.family.id, issued.token, now)
            issuedTokens.push(issued.token)
          } else if (a.do === 'refresh' && issuedTokens.length > 0) {
            const pool = a.recent ? issuedTokens.slice(-3) : issuedTokens
            const token = pool[a.pick % pool.length] as string
            const outcome = store.rotate(token, now)
            const newToken = outcome.kind === 'rotated' ? outcome.token : undefined
            expect(describeOutcome(outcome)).toBe(model.rotate(token, now, newToken))
            if (newToken !== undefined) issuedTokens.push(newToken)
          } else if (a.do === 'revoke' && model.families.length > 0) {
            const index = a.pick % model.families.length
            store.revokeFamily((model.families[index] as ModelFamily).id, 'lab', now)
            model.revoke(index)
          } else if (a.do === 'expire') {
            store.expireRefreshTokens(now)
            model.expireRefresh(now)
          } else if (a.do === 'advance') {
            now += a.ms
          }
          // The families agree after every step, too.
          for (const f of model.families) {
            expect(store.family(f.id)).toMatchObject({ status: f.revoked ? 'revoked' : 'active', generation: f.generation })
          }
        }
      }),
      { numRuns: 300, seed: 7 },
    )
  })
})
