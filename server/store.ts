import { createHmac, hash, randomBytes } from 'node:crypto'
import { randomBase64url } from './random.js'

/**
 * Refresh-token families and their rotation. Everything here is synchronous on purpose: `rotate`
 * checks and updates in one step with no `await` in between, so however many requests present the
 * same token at once, exactly one of them rotates it.
 *
 * Tokens are opaque 256-bit random strings, and the store keeps only their SHA-256 hashes. A
 * child token is derived from its parent as HMAC(storeKey, parent): that lets a grace-window
 * reuse hand back the child already issued without the store ever keeping a token in plaintext.
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
}

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
  /** A rotated token spent again outside the grace: the whole family is now revoked. */
  | { kind: 'reuse'; code: 'REFRESH_TOKEN_REUSED'; family: Family; generation: number; sinceRotationMs: number }

/**
 * What one mutation changed, as whole records: the unit `--data-dir` writes to its journal, one line
 * a change, so a crash can lose a change only whole and before its answer was sent.
 */
export interface StoreChange {
  families?: Family[]
  tokens?: [hash: string, record: TokenRecord][]
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
  readonly #key: Buffer
  /** With --data-dir: writes each change before the caller answers. None in memory-only mode. */
  #journal: ((change: StoreChange) => void) | undefined

  constructor(
    private readonly settings: RotationSettings,
    key: Buffer = randomBytes(32),
  ) {
    this.#key = key
  }

  /** The key children are derived with; --data-dir keeps it so tokens survive a restart. */
  get key(): Buffer {
    return this.#key
  }

  attachJournal(write: (change: StoreChange) => void): void {
    this.#journal = write
  }

  /** Replays a change from the journal or a snapshot, without writing it again. */
  apply(change: StoreChange): void {
    if (change.clear) this.#families.clear()
    if (change.clear) this.#tokens.clear()
    for (const family of change.families ?? []) this.#families.set(family.id, { ...family })
    for (const [hash, record] of change.tokens ?? []) this.#tokens.set(hash, { ...record })
    for (const id of change.forgetFamilies ?? []) this.#families.delete(id)
    for (const hash of change.forgetTokens ?? []) this.#tokens.delete(hash)
  }

  /** Everything, as one change: what a compacted snapshot holds. */
  snapshot(): StoreChange {
    return { families: [...this.#families.values()], tokens: [...this.#tokens.entries()] }
  }

  #commit(families: Family[], hashes: string[]): void {
    if (!this.#journal) return
    this.#journal({
      ...(families.length > 0 ? { families: families.map((f) => ({ ...f })) } : {}),
      ...(hashes.length > 0
        ? { tokens: hashes.map((h) => [h, { ...(this.#tokens.get(h) as TokenRecord) }] as [string, TokenRecord]) }
        : {}),
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
    const token = randomBase64url(32)
    const hash = hashToken(token)
    const issued = this.#record(token, family, 1, now, hash)
    this.#commit([family], [hash])
    return issued
  }

  /**
   * Spends a refresh token. The guard clauses run in the order docs/design.md fixes: unknown, revoked,
   * expired, already rotated (grace or reuse), and only then the rotation itself.
   */
  rotate(token: string, now: number): RotateOutcome {
    const presented = hashToken(token)
    const record = this.#tokens.get(presented)
    if (!record) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
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
          const freshToken = randomBase64url(32)
          const freshHash = hashToken(freshToken)
          const fresh = this.#record(freshToken, family, family.generation, now, freshHash)
          this.#commit([family], [presented, freshHash])
          return { kind: 'grace', replayedGeneration: generation, ...fresh }
        }
        this.#commit([], [presented])
        return this.#newestDescendant(token, generation, now)
      }
      this.revokeFamily(family.id, 'reuse', now)
      return { kind: 'reuse', code: 'REFRESH_TOKEN_REUSED', family, generation, sinceRotationMs }
    }

    record.rotatedAt = now
    family.generation = generation + 1
    const childToken = this.#childOf(token)
    // Hashed once, for the store and (with --data-dir) the journal alike.
    const childHash = hashToken(childToken)
    const child = this.#record(childToken, family, generation + 1, now, childHash)
    // One change for the whole rotation: a crash keeps it all or none of it, never half.
    this.#commit([family], [presented, childHash])
    return { kind: 'rotated', ...child }
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

  /** Makes the still-valid refresh tokens of these families (all when absent) expire at `now`. */
  expireRefreshTokens(now: number, familyIds?: ReadonlySet<string>): number {
    const changed: string[] = []
    for (const [hash, record] of this.#tokens) {
      if (familyIds && !familyIds.has(record.familyId)) continue
      if (record.expiresAt <= now) continue
      record.expiresAt = now
      changed.push(hash)
    }
    this.#commit([], changed)
    return changed.length
  }

  /** What the store knows of a refresh token, without spending it: for introspection and revocation. */
  lookup(token: string): Readonly<TokenRecord> | undefined {
    return this.#tokens.get(hashToken(token))
  }

  /**
   * Whether `rotate` would accept this token now rather than refuse it: unrotated, or rotated and
   * still inside the reuse grace, by the same test `rotate` makes (with `parent`, only the direct
   * parent of the newest token). What introspection answers, so it agrees with the token endpoint.
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
   * hour past their expiry (until then a replay still gets REFRESH_TOKEN_EXPIRED, not INVALID),
   * and sessions revoked or expired an hour ago, with their tokens. Returns how many sessions went.
   */
  sweep(now: number, retainMs = 3_600_000): number {
    const gone = new Set<string>()
    for (const family of this.#families.values()) {
      const endedAt = family.status === 'revoked' ? (family.revokedAt ?? now) : family.expiresAt
      if (now >= endedAt + retainMs) gone.add(family.id)
    }
    for (const id of gone) this.#families.delete(id)
    const forgotten: string[] = []
    for (const [hash, record] of this.#tokens) {
      if (gone.has(record.familyId) || now >= record.expiresAt + retainMs) {
        this.#tokens.delete(hash)
        forgotten.push(hash)
      }
    }
    if (this.#journal && (gone.size > 0 || forgotten.length > 0)) this.#journal({ forgetFamilies: [...gone], forgetTokens: forgotten })
    return gone.size
  }

  /** How much the store holds, for the soak test and stats. */
  get size(): { families: number; tokens: number } {
    return { families: this.#families.size, tokens: this.#tokens.size }
  }

  counts(): { families: number; tokens: number } {
    return this.size
  }

  /** Forgets every session, as `POST /_lab/reset` promises. */
  clear(): void {
    this.#families.clear()
    this.#tokens.clear()
    this.#journal?.({ clear: true })
  }

  #childOf(token: string): string {
    return createHmac('sha256', this.#key).update(token).digest('base64url')
  }

  #record(token: string, family: Family, generation: number, now: number, hash = hashToken(token)): IssuedRefreshToken {
    const expiresAt = Math.min(now + this.settings.refreshTtlMs, family.expiresAt)
    this.#tokens.set(hash, { familyId: family.id, generation, issuedAt: now, expiresAt, rotatedAt: null, graceUses: 0 })
    return { token, family, generation, expiresAt }
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
    return this.#insideGrace(record, sinceRotationMs) && (this.settings.graceReturns !== 'parent' || this.#isParentOfNewest(token))
  }

  /** Whether this rotated token's child is still unrotated: it is the direct parent of its chain's newest token. */
  #isParentOfNewest(token: string): boolean {
    const child = this.#tokens.get(hashToken(this.#childOf(token)))
    return child !== undefined && child.rotatedAt === null
  }

  /** Follows the chain from a rotated token to the newest token of its family. */
  #newestDescendant(token: string, replayedGeneration: number, now: number): RotateOutcome {
    let current = this.#childOf(token)
    let record = this.#tokens.get(hashToken(current))
    while (record && record.rotatedAt !== null) {
      current = this.#childOf(current)
      record = this.#tokens.get(hashToken(current))
    }
    const family = record && this.#families.get(record.familyId)
    if (!record || !family) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    if (now >= record.expiresAt) return { kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', family, generation: record.generation }
    return { kind: 'grace', replayedGeneration, token: current, family, generation: record.generation, expiresAt: record.expiresAt }
  }
}
