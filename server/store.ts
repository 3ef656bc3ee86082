import { createHmac, hash, randomBytes } from 'node:crypto'
import { randomBase64url } from './random.js'
import { DESCRIBED_TOKEN_CHARS, type DescribedToken, decodeRefreshToken, encodeRefreshToken } from './refresh-token-format.js'

/**
 * Refresh-token families and their rotation. Everything here is synchronous on purpose: `rotate`
 * checks and updates in one step with no `await` in between, so however many requests present the
 * same token at once, exactly one of them rotates it.
 *
 * Tokens describe themselves: family, generation and expiry under a MAC keyed with the store's key
 * (server/refresh-token-format.ts), and the store keeps only their SHA-256 hashes. A child token is
 * rebuilt from its parent's record, so a grace-window reuse hands back the child already issued
 * without the store ever keeping a token in plaintext. A rotated token's record is forgotten once
 * no rule can forgive it and newer ones have taken its place: the token itself still says which
 * family it would revoke, so memory grows with sessions, not with rotations (docs/design.md,
 * "Refresh tokens that describe themselves").
 */

export type RevokeReason = 'reuse' | 'logout' | 'lab'

export interface Family {
  readonly id: string
  readonly userId: string
  readonly createdAt: number
  /** The absolute end of the session, however often it refreshes. */
  readonly expiresAt: number
  status: 'active' | 'revoked'
  /** The generation of the newest token issued; the login token is generation 1. */
  generation: number
  revokedAt?: number
  revokedReason?: RevokeReason
  /** The OAuth client the session was granted to, when it named one. */
  readonly clientId?: string
  /** The scope granted at sign-in, carried into every access token and refresh answer. */
  readonly scope?: string
  /** When the user signed in (OAuth sign-ins), in real time: every ID token's `auth_time`. */
  readonly authTime?: number
}

/** What a sign-in was granted for, beyond the user: kept on the family for every refresh. */
export interface Grant {
  clientId?: string
  scope?: string
  /** When the user signed in, in real milliseconds: before the session starts for a code flow. */
  authTime?: number
}

interface TokenRecord {
  readonly familyId: string
  readonly generation: number
  readonly issuedAt: number
  expiresAt: number
  rotatedAt: number | null
  /** Times this token was spent again inside the reuse grace. */
  graceUses: number
  /** Once rotated: the generation and expiry its child was issued with, from which the child is rebuilt. */
  child?: [generation: number, expiresAt: number]
}

/**
 * What a family's tokens need once their records are gone (a record is forgotten after its rotation,
 * or swept an hour after its expiry): kept per family, journaled with it.
 */
export interface TokenTrail {
  /** When the newest forgotten token was rotated: every forgotten token was rotated at or before this. */
  forgottenRotatedAt?: number
  /**
   * The highest generation forgotten after its rotation. A record-less token above it was never
   * forgotten, only swept after its expiry: with the lab clock set back before that expiry, it is
   * unknown (as its swept record made it before), not a reuse.
   */
  forgottenGeneration?: number
  /** The lab's last early expiry of this family's refresh tokens: every generation up to the first expired at the second. */
  expired?: [throughGeneration: number, at: number]
}

/** Rotated records kept whole per family, however settled: a replay of one of them reports its exact age. */
export const RECENT_ROTATED_KEPT = 8

/** The settings rotation reads on every call, so the lab can change them live. */
export interface RotationSettings {
  /** Each refresh token lives this long from its own issue (an idle timeout that slides). */
  refreshTtlMs: number
  /** A session ends this long after sign-in, however often it refreshes (an absolute timeout). */
  sessionTtlMs: number
  reuseGraceMs: number
  /** With a count, a rotated token may be spent again this many times inside the grace (0: no count limit). */
  reuseGraceCount: number
  /**
   * A grace reuse answers the newest token already issued (`existing`), a fresh one in the same
   * family (`new`), or, with `parent`, the newest token only to its direct parent: an older
   * rotated token is a reuse even inside the grace (GoTrue's rule, docs/server.md).
   */
  graceReturns: 'existing' | 'new' | 'parent'
}

export interface IssuedRefreshToken {
  token: string
  family: Family
  generation: number
  expiresAt: number
}

export type RotateOutcome =
  | ({ kind: 'rotated' } & IssuedRefreshToken)
  /** A rotated token spent again inside the grace: the newest token already issued comes back. */
  | ({ kind: 'grace'; replayedGeneration: number } & IssuedRefreshToken)
  | { kind: 'rejected'; code: 'INVALID_REFRESH_TOKEN' }
  | { kind: 'rejected'; code: 'REFRESH_TOKEN_REVOKED' | 'REFRESH_TOKEN_EXPIRED'; family: Family; generation: number }
  /**
   * A rotated token spent again outside the grace: the whole family is now revoked. For a token
   * whose record was forgotten, `sinceRotationMs` is a lower bound and `ageAtLeast` says so.
   */
  | {
      kind: 'reuse'
      code: 'REFRESH_TOKEN_REUSED'
      family: Family
      generation: number
      sinceRotationMs: number
      ageAtLeast?: true
    }

/**
 * What one mutation changed, as whole records: the unit `--data-dir` writes to its journal, one line
 * a change, so a crash can lose a change only whole and before its answer was sent.
 */
export interface StoreChange {
  families?: Family[]
  tokens?: [hash: string, record: TokenRecord][]
  trails?: [familyId: string, trail: TokenTrail][]
  forgetFamilies?: string[]
  forgetTokens?: string[]
  clear?: true
}

export type { TokenRecord }

/** A value now, or once a round trip is done: the memory store answers at once, Redis later. */
export type MaybePromise<T> = T | Promise<T>

/**
 * What the lab asks of a session store (docs/design.md, "Stores"). The in-memory `RefreshStore`
 * answers synchronously (its hot path must not pay for a promise); the Redis store answers with
 * promises. Callers await only what is a promise (`isPromise`), so the memory path stays as it was.
 */
export interface SessionStore {
  readonly kind: 'memory' | 'redis'
  createFamily(userId: string, now: number, grant?: Grant): MaybePromise<IssuedRefreshToken>
  /** The one atomic step of a refresh: see RefreshStore.rotate for the rules, in their order. */
  rotate(token: string, now: number): MaybePromise<RotateOutcome>
  revokeFamily(familyId: string, reason: RevokeReason, now: number): MaybePromise<boolean>
  families(userId?: string): MaybePromise<Family[]>
  expireRefreshTokens(now: number, familyIds?: ReadonlySet<string>): MaybePromise<number>
  lookup(token: string): MaybePromise<Readonly<TokenRecord> | undefined>
  /**
   * Whether `rotate` would accept this token now (unrotated, or inside the reuse grace by every rule
   * `rotate` applies, `parent` included): introspection's answer, so the two never disagree.
   */
  accepts(token: string, now: number): MaybePromise<boolean>
  family(familyId: string): MaybePromise<Family | undefined>
  isActive(familyId: string): MaybePromise<boolean>
  sweep(now: number): MaybePromise<number>
  counts(): MaybePromise<{ families: number; tokens: number }>
  clear(): MaybePromise<void>
}

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise
}

/** Applies `next` at once to a plain value, or once a promise settles: the memory path never waits. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value)
}

export function hashToken(token: string): string {
  // One-shot (Node 20.12+): about half of createHash's cost, and a refresh hashes two or three tokens.
  return hash('sha256', token, 'base64url')
}

export class RefreshStore implements SessionStore {
  readonly kind = 'memory'
  readonly #families = new Map<string, Family>()
  readonly #tokens = new Map<string, TokenRecord>()
  readonly #trails = new Map<string, TokenTrail>()
  /** Per family, the hashes of its rotated self-describing records, oldest rotation first: what may be forgotten. */
  readonly #rotated = new Map<string, Set<string>>()
  readonly #key: Buffer
  readonly #keepRotated: number
  /** With --data-dir: writes each change before the caller answers. None in memory-only mode. */
  #journal: ((change: StoreChange) => void) | undefined

  constructor(
    private readonly settings: RotationSettings,
    key: Buffer = randomBytes(32),
    { keepRotated = RECENT_ROTATED_KEPT }: { keepRotated?: number } = {},
  ) {
    this.#key = key
    this.#keepRotated = keepRotated
  }

  /** The key tokens are signed and children rebuilt with; --data-dir keeps it so tokens survive a restart. */
  get key(): Buffer {
    return this.#key
  }

  attachJournal(write: (change: StoreChange) => void): void {
    this.#journal = write
  }

  /** Replays a change from the journal or a snapshot, without writing it again. */
  apply(change: StoreChange): void {
    if (change.clear) this.#forgetEverything()
    for (const family of change.families ?? []) this.#families.set(family.id, { ...family })
    for (const [hash, record] of change.tokens ?? []) {
      this.#tokens.set(hash, { ...record })
      if (record.child) this.#rotatedOf(record.familyId).add(hash)
    }
    for (const [id, trail] of change.trails ?? []) this.#trails.set(id, { ...trail })
    for (const id of change.forgetFamilies ?? []) this.#forgetFamily(id)
    for (const hash of change.forgetTokens ?? []) this.#forgetToken(hash)
  }

  /** Everything, as one change: what a compacted snapshot holds. */
  snapshot(): StoreChange {
    return { families: [...this.#families.values()], tokens: [...this.#tokens.entries()], trails: [...this.#trails.entries()] }
  }

  #commit(families: Family[], hashes: string[], extra: Pick<StoreChange, 'forgetTokens' | 'trails'> = {}): void {
    if (!this.#journal) return
    this.#journal({
      ...(families.length > 0 ? { families: families.map((f) => ({ ...f })) } : {}),
      ...(hashes.length > 0
        ? { tokens: hashes.map((h) => [h, { ...(this.#tokens.get(h) as TokenRecord) }] as [string, TokenRecord]) }
        : {}),
      ...(extra.trails && extra.trails.length > 0 ? { trails: extra.trails.map(([id, trail]) => [id, { ...trail }]) } : {}),
      ...(extra.forgetTokens && extra.forgetTokens.length > 0 ? { forgetTokens: extra.forgetTokens } : {}),
    })
  }

  /** Starts a session (a family) for a user and issues its first refresh token. */
  createFamily(userId: string, now: number, grant: Grant = {}): IssuedRefreshToken {
    const family: Family = {
      id: `fam_${randomBase64url(9)}`,
      userId,
      createdAt: now,
      expiresAt: now + this.settings.sessionTtlMs,
      status: 'active',
      generation: 1,
      ...(grant.clientId === undefined ? {} : { clientId: grant.clientId }),
      ...(grant.scope === undefined ? {} : { scope: grant.scope }),
      ...(grant.authTime === undefined ? {} : { authTime: grant.authTime }),
    }
    this.#families.set(family.id, family)
    const issued = this.#issue(family, 1, now)
    this.#commit([family], [issued.hash])
    return issued.token
  }

  /**
   * Spends a refresh token. The guard clauses run in the order docs/design.md fixes: unknown, revoked,
   * expired, already rotated (grace or reuse), and only then the rotation itself.
   */
  rotate(token: string, now: number): RotateOutcome {
    const presented = hashToken(token)
    const record = this.#tokens.get(presented)
    if (!record) return this.#rotateForgotten(token, now)
    const family = this.#families.get(record.familyId)
    if (!family) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    const { generation } = record
    if (family.status === 'revoked') return { kind: 'rejected', code: 'REFRESH_TOKEN_REVOKED', family, generation }
    if (now >= record.expiresAt || now >= family.expiresAt) return { kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', family, generation }

    if (record.rotatedAt !== null) {
      const sinceRotationMs = now - record.rotatedAt
      // A clock set back by the lab gives a negative age: that is not "inside the grace".
      if (this.#graceAccepts(token, record, sinceRotationMs)) {
        record.graceUses += 1
        if (this.settings.graceReturns === 'new') {
          family.generation += 1
          const fresh = this.#issue(family, family.generation, now)
          this.#commit([family], [presented, fresh.hash])
          return { kind: 'grace', replayedGeneration: generation, ...fresh.token }
        }
        this.#commit([], [presented])
        return this.#newestDescendant(token, record, generation, now)
      }
      this.revokeFamily(family.id, 'reuse', now)
      return { kind: 'reuse', code: 'REFRESH_TOKEN_REUSED', family, generation, sinceRotationMs }
    }

    record.rotatedAt = now
    family.generation += 1
    const child = this.#issue(family, family.generation, now, { parent: token, record })
    const settled = record.child ? this.#forgetSettled(family.id, presented, now) : undefined
    // One change for the whole rotation: a crash keeps it all or none of it, never half.
    this.#commit([family], [presented, child.hash], settled)
    return { kind: 'rotated', ...child.token }
  }

  /** Revokes a family; its refresh tokens and (unless stateless) its access tokens stop working. */
  revokeFamily(familyId: string, reason: RevokeReason, now: number): boolean {
    const family = this.#families.get(familyId)
    if (!family || family.status === 'revoked') return false
    family.status = 'revoked'
    family.revokedAt = now
    family.revokedReason = reason
    this.#commit([family], [])
    return true
  }

  /** The families a user has, or every family. */
  families(userId?: string): Family[] {
    const all = [...this.#families.values()]
    return userId === undefined ? all : all.filter((family) => family.userId === userId)
  }

  /**
   * Makes the still-valid refresh tokens of these families (all when absent) expire at `now`. Tokens
   * whose records are gone have nothing to change: their family's trail carries the expiry instead.
   */
  expireRefreshTokens(now: number, familyIds?: ReadonlySet<string>): number {
    const changed: string[] = []
    const capped = new Set<string>()
    for (const [hash, record] of this.#tokens) {
      if (familyIds && !familyIds.has(record.familyId)) continue
      if (record.expiresAt <= now) continue
      record.expiresAt = now
      changed.push(hash)
      capped.add(record.familyId)
    }
    // A capped record may be swept later, and a forgotten token has none: both are judged by the trail.
    for (const id of this.#trails.keys()) if (!familyIds || familyIds.has(id)) capped.add(id)
    const trails: [string, TokenTrail][] = []
    for (const id of capped) {
      const family = this.#families.get(id)
      if (!family) continue
      const trail = this.#trailOf(id)
      // An earlier expiry of the same generations stands: with the clock set back between two
      // expiries, the first still holds. One cap a family is kept, so a cap over newer generations
      // replaces an older one (exact unless the clock is later set back before the older cap).
      const [through, at] = trail.expired ?? [0, Number.POSITIVE_INFINITY]
      if (through >= family.generation && at <= now) continue
      trail.expired = [family.generation, now]
      trails.push([id, trail])
    }
    this.#commit([], changed, { trails })
    return changed.length
  }

  /**
   * What the store knows of a refresh token, without spending it: for introspection and revocation.
   * A token whose record is gone is described from itself (issued no earlier than its session began).
   */
  lookup(token: string): Readonly<TokenRecord> | undefined {
    const record = this.#tokens.get(hashToken(token))
    if (record) return record
    const described = decodeRefreshToken(this.#key, token)
    const family = described && this.#families.get(described.familyId)
    if (!described || !family) return undefined
    return {
      familyId: family.id,
      generation: described.generation,
      issuedAt: family.createdAt,
      expiresAt: this.#describedExpiry(described),
      rotatedAt: this.#trails.get(family.id)?.forgottenRotatedAt ?? null,
      graceUses: 0,
    }
  }

  /**
   * Whether `rotate` would accept this token now rather than refuse it: unrotated, or rotated and
   * still inside the reuse grace, by the same test `rotate` makes (with `parent`, only the direct
   * parent of the newest token). What introspection answers, so it agrees with the token endpoint.
   * A token without a record is never accepted: only settled rotated tokens are forgotten.
   */
  accepts(token: string, now: number): boolean {
    const record = this.#tokens.get(hashToken(token))
    const family = record && this.#families.get(record.familyId)
    if (!record || family?.status !== 'active' || now >= record.expiresAt || now >= family.expiresAt) return false
    if (record.rotatedAt === null) return true
    return this.#graceAccepts(token, record, now - record.rotatedAt)
  }

  family(familyId: string): Family | undefined {
    return this.#families.get(familyId)
  }

  isActive(familyId: string): boolean {
    return this.#families.get(familyId)?.status === 'active'
  }

  /**
   * Forgets what can no longer matter, so a server left running keeps its memory flat: tokens an
   * hour past their expiry (until then a replay still gets REFRESH_TOKEN_EXPIRED from the record;
   * after, from the token itself), and sessions revoked or expired an hour ago, with their tokens.
   * Returns how many sessions went.
   */
  sweep(now: number, retainMs = 3_600_000): number {
    const gone = new Set<string>()
    for (const family of this.#families.values()) {
      const endedAt = family.status === 'revoked' ? (family.revokedAt ?? now) : family.expiresAt
      if (now >= endedAt + retainMs) gone.add(family.id)
    }
    for (const id of gone) this.#forgetFamily(id)
    const forgotten: string[] = []
    for (const [hash, record] of this.#tokens) {
      if (gone.has(record.familyId) || now >= record.expiresAt + retainMs) {
        this.#forgetToken(hash)
        forgotten.push(hash)
      }
    }
    if (this.#journal && (gone.size > 0 || forgotten.length > 0)) this.#journal({ forgetFamilies: [...gone], forgetTokens: forgotten })
    return gone.size
  }

  /** How much the store holds, for the soak test and stats: token records kept, not tokens ever issued. */
  get size(): { families: number; tokens: number } {
    return { families: this.#families.size, tokens: this.#tokens.size }
  }

  counts(): { families: number; tokens: number } {
    return this.size
  }

  /** Forgets every session, as `POST /_lab/reset` promises. */
  clear(): void {
    this.#forgetEverything()
    this.#journal?.({ clear: true })
  }

  #forgetEverything(): void {
    this.#families.clear()
    this.#tokens.clear()
    this.#trails.clear()
    this.#rotated.clear()
  }

  #forgetFamily(id: string): void {
    this.#families.delete(id)
    this.#trails.delete(id)
    this.#rotated.delete(id)
  }

  #forgetToken(hash: string): void {
    const record = this.#tokens.get(hash)
    if (!record) return
    this.#tokens.delete(hash)
    this.#rotated.get(record.familyId)?.delete(hash)
  }

  #rotatedOf(familyId: string): Set<string> {
    let rotated = this.#rotated.get(familyId)
    if (!rotated) this.#rotated.set(familyId, (rotated = new Set()))
    return rotated
  }

  #trailOf(familyId: string): TokenTrail {
    let trail = this.#trails.get(familyId)
    if (!trail) this.#trails.set(familyId, (trail = {}))
    return trail
  }

  /**
   * Issues a token of the family and keeps its record. A child of a self-describing token describes
   * itself too, and its parent's record says how to rebuild it; a child of a token from before that
   * format (a data dir written by an older version) is derived as HMAC(key, parent), as it was then.
   */
  #issue(
    family: Family,
    generation: number,
    now: number,
    from?: { parent: string; record: TokenRecord },
  ): { token: IssuedRefreshToken; hash: string } {
    const expiresAt = Math.min(now + this.settings.refreshTtlMs, family.expiresAt)
    const legacyParent = from !== undefined && from.parent.length !== DESCRIBED_TOKEN_CHARS
    const described = legacyParent ? undefined : encodeRefreshToken(this.#key, { familyId: family.id, generation, expiresAt })
    const token = described ?? (from ? this.#legacyChildOf(from.parent) : randomBase64url(32))
    if (from && described) from.record.child = [generation, expiresAt]
    // Hashed once, for the store and (with --data-dir) the journal alike.
    const hash = hashToken(token)
    this.#tokens.set(hash, { familyId: family.id, generation, issuedAt: now, expiresAt, rotatedAt: null, graceUses: 0 })
    return { token: { token, family, generation, expiresAt }, hash }
  }

  /** The child a rotated token was answered with: rebuilt from its record, or for an older token derived from it. */
  #childOf(token: string, record: TokenRecord): string {
    return record.child ? this.#describedChildOf(record, record.child) : this.#legacyChildOf(token)
  }

  #describedChildOf(record: TokenRecord, [generation, expiresAt]: [number, number]): string {
    const child = encodeRefreshToken(this.#key, { familyId: record.familyId, generation, expiresAt })
    // The child was issued in this format, so it encodes; data-dir.ts refuses a record that would not.
    if (child === undefined)
      throw new Error(`token record of ${record.familyId}: its child [${generation}, ${expiresAt}] cannot be rebuilt`)
    return child
  }

  #legacyChildOf(token: string): string {
    return createHmac('sha256', this.#key).update(token).digest('base64url')
  }

  /**
   * After a rotation: forgets this family's oldest rotated records, past the newest few kept whole,
   * once no grace rule can forgive them any more. Oldest first and stopping at the first that could
   * still be forgiven, so a chain's newer tokens are never forgotten before its older ones.
   */
  #forgetSettled(familyId: string, rotatedHash: string, now: number): Pick<StoreChange, 'forgetTokens' | 'trails'> | undefined {
    const rotated = this.#rotatedOf(familyId)
    rotated.add(rotatedHash)
    let forgetTokens: string[] | undefined
    for (const hash of rotated) {
      if (rotated.size <= this.#keepRotated) break
      const record = this.#tokens.get(hash)
      if (record && !this.#settled(record, now)) break
      rotated.delete(hash)
      if (!record) continue
      this.#tokens.delete(hash)
      const trail = this.#trailOf(familyId)
      const rotatedAt = record.rotatedAt as number
      trail.forgottenRotatedAt = trail.forgottenRotatedAt === undefined ? rotatedAt : Math.max(trail.forgottenRotatedAt, rotatedAt)
      trail.forgottenGeneration = Math.max(trail.forgottenGeneration ?? 0, record.generation)
      ;(forgetTokens ??= []).push(hash)
    }
    if (!forgetTokens) return undefined
    return { forgetTokens, trails: [[familyId, this.#trailOf(familyId)]] }
  }

  /** Whether no grace rule can forgive this rotated token again, by the lab clock moving forward. */
  #settled(record: TokenRecord, now: number): boolean {
    const { reuseGraceMs, reuseGraceCount, graceReturns } = this.settings
    if (reuseGraceMs === 0 && reuseGraceCount === 0) return true
    if (reuseGraceMs > 0 && now - (record.rotatedAt as number) >= reuseGraceMs) return true
    if (reuseGraceCount > 0 && record.graceUses >= reuseGraceCount) return true
    // Only self-describing records are ever forgotten, so the child is rebuilt from the record alone.
    return graceReturns === 'parent' && record.child !== undefined && !this.#childUnrotated(this.#describedChildOf(record, record.child))
  }

  /**
   * A token without a record: one of ours (its MAC holds) whose record was forgotten after its
   * rotation, or swept an hour after its expiry. Judged by the same guards, in the same order.
   */
  #rotateForgotten(token: string, now: number): RotateOutcome {
    const described = decodeRefreshToken(this.#key, token)
    const family = described && this.#families.get(described.familyId)
    if (!described || !family) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    const { generation } = described
    if (family.status === 'revoked') return { kind: 'rejected', code: 'REFRESH_TOKEN_REVOKED', family, generation }
    if (now >= this.#describedExpiry(described) || now >= family.expiresAt) {
      return { kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', family, generation }
    }
    // Unexpired and without a record: forgotten after its rotation, so rotated at or before this.
    const trail = this.#trails.get(family.id)
    const rotatedAt = trail?.forgottenRotatedAt
    if (rotatedAt === undefined || generation > (trail?.forgottenGeneration ?? 0))
      return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    this.revokeFamily(family.id, 'reuse', now)
    return { kind: 'reuse', code: 'REFRESH_TOKEN_REUSED', family, generation, sinceRotationMs: now - rotatedAt, ageAtLeast: true }
  }

  /** A record-less token's expiry: its own, or the lab's early expiry of its family if that came first. */
  #describedExpiry(described: DescribedToken): number {
    const expired = this.#trails.get(described.familyId)?.expired
    return expired && described.generation <= expired[0] ? Math.min(described.expiresAt, expired[1]) : described.expiresAt
  }

  /**
   * The grace by time (Auth0, Okta, Supabase), by count (Keycloak), or both (Hydra): inside it only
   * while every limit that is set still holds. A clock set back by the lab gives a negative age,
   * which is not "inside".
   */
  #insideGrace(record: TokenRecord, sinceRotationMs: number): boolean {
    const { reuseGraceMs, reuseGraceCount } = this.settings
    if (reuseGraceMs === 0 && reuseGraceCount === 0) return false
    const inTime = reuseGraceMs === 0 || (sinceRotationMs >= 0 && sinceRotationMs < reuseGraceMs)
    const inCount = reuseGraceCount === 0 || record.graceUses < reuseGraceCount
    return inTime && inCount
  }

  /** The grace test of a rotated token, for `rotate` and `accepts` alike: the limits, and with `parent` the chain's position. */
  #graceAccepts(token: string, record: TokenRecord, sinceRotationMs: number): boolean {
    return (
      this.#insideGrace(record, sinceRotationMs) &&
      (this.settings.graceReturns !== 'parent' || this.#childUnrotated(this.#childOf(token, record)))
    )
  }

  /** Whether this child token is still unrotated: its parent is the direct parent of its chain's newest token. */
  #childUnrotated(child: string): boolean {
    return this.#tokens.get(hashToken(child))?.rotatedAt === null
  }

  /** Follows the chain from a rotated token to the newest token of its family. */
  #newestDescendant(token: string, from: TokenRecord, replayedGeneration: number, now: number): RotateOutcome {
    let current = this.#childOf(token, from)
    let record = this.#tokens.get(hashToken(current))
    while (record && record.rotatedAt !== null) {
      current = this.#childOf(current, record)
      record = this.#tokens.get(hashToken(current))
    }
    const family = record && this.#families.get(record.familyId)
    if (!record || !family) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    if (now >= record.expiresAt) return { kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', family, generation: record.generation }
    return { kind: 'grace', replayedGeneration, token: current, family, generation: record.generation, expiresAt: record.expiresAt }
  }
}
