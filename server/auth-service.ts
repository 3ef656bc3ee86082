import { createHash, timingSafeEqual } from 'node:crypto'
import { LabError, type ErrorCode } from '../src/shared/errors.js'
import { DEFAULT_CLIENT_ID, type UserAccount } from './config.js'
import type { LabDomainEvent } from './domain-events.js'
import type { Lab } from './lab.js'
import { andThen, isPromise, type Family, type Grant, type MaybePromise, type RotateOutcome } from './store.js'

/** A fresh token pair, whatever the wire shape it goes out in. */
export interface IssuedTokens {
  accessToken: string
  refreshToken: string
  /** The access TTL in whole seconds, rounded up (never 0): what `expires_in` answers. */
  expiresIn: number
  /** The access token's `exp`, in Unix seconds. */
  expiresAt: number
  family: Family
  user: UserAccount | undefined
}

const REFRESH_MESSAGES = {
  INVALID_REFRESH_TOKEN: 'the refresh token is not one this server issued',
  REFRESH_TOKEN_REVOKED: 'the session was revoked; sign in again',
  REFRESH_TOKEN_EXPIRED: 'the refresh token has expired; sign in again',
  REFRESH_TOKEN_REUSED: 'this refresh token was already rotated, so reuse was detected and the session revoked; sign in again',
} as const

/**
 * Sign-in, refresh and sign-out, shared by every wire profile (`/api/auth/*` and `/oauth/*`), so
 * the rotation rules and the events they emit (hence the counters, the event log and the journal)
 * are the same whichever way a client speaks.
 */
export function checkCredentials(lab: Lab, email: string, password: string): UserAccount {
  const user = lab.users.find(email)
  if (!user || !samePassword(password, user.password)) throw new LabError('INVALID_CREDENTIALS', 'the email or password is wrong')
  return user
}

export async function signIn(lab: Lab, user: UserAccount, grant: Grant = {}): Promise<IssuedTokens> {
  const now = lab.clock.now()
  const created = lab.store.createFamily(user.id, now, grant)
  const issued = isPromise(created) ? await created : created
  lab.emit({ type: 'signedIn', user: user.id, family: issued.family.id })
  return tokens(lab, issued.family, issued.token, now)
}

/**
 * Spends a refresh token: one atomic rotate, its events, then the answer. A refused one throws
 * the LabError the route turns into its profile's error.
 */
export async function refreshSession(lab: Lab, presented: string): Promise<IssuedTokens> {
  const now = lab.clock.now()
  // The one atomic step: no await between reading the token's state and rotating it (in memory, a
  // synchronous call; in Redis, one Lua script). Only a promise is awaited, so memory stays as fast.
  const rotated = lab.store.rotate(presented, now)
  const outcome = isPromise(rotated) ? await rotated : rotated
  for (const event of rotateEvents(outcome)) lab.emit(event)
  if (outcome.kind === 'rejected' || outcome.kind === 'reuse') {
    const hint =
      outcome.code === 'INVALID_REFRESH_TOKEN' && presented.split('.').length === 3
        ? '; this looks like an access token, but a refresh takes the refresh token'
        : ''
    throw new LabError(outcome.code, REFRESH_MESSAGES[outcome.code] + hint)
  }
  return tokens(lab, outcome.family, outcome.token, now)
}

/** A refresh call whose request held no readable refresh token: refused before the store, a call all the same. */
export function refreshUnreadable(lab: Lab, code: ErrorCode): void {
  lab.emit({ type: 'refreshRejected', code, malformed: true })
}

/** `POST /api/auth/logout`: ends the session of the access token it was called with. */
export function signOut(lab: Lab, user: string, family: string): MaybePromise<void> {
  return andThen(lab.revokeFamily(family, 'logout'), () => lab.emit({ type: 'signedOut', user, family, via: 'logout' }))
}

/** RFC 7009 revocation: ends a session if it was still active. */
export function revokeSession(lab: Lab, family: string): MaybePromise<void> {
  return andThen(lab.revokeFamily(family, 'logout'), (revoked) => {
    if (revoked) lab.emit({ type: 'signedOut', family, via: 'revocation' })
  })
}

async function tokens(lab: Lab, family: Family, refreshToken: string, now: number): Promise<IssuedTokens> {
  const user = lab.users.byId(family.userId)
  const access = await lab.tokens.sign(family.userId, family.id, now, lab.settings.accessTtlMs, {
    clientId: family.clientId ?? DEFAULT_CLIENT_ID,
    ...(family.scope === undefined ? {} : { scope: family.scope }),
    ...(user?.claims === undefined ? {} : { claims: user.claims }),
  })
  return {
    accessToken: access.token,
    refreshToken,
    expiresIn: access.expiresIn,
    expiresAt: access.exp,
    family,
    user,
  }
}

/**
 * What one rotation tells the lab. A reuse is two changes: the store revoked the family in the
 * same atomic step (`familyRevoked`), and the refresh was refused (`reuseDetected`).
 */
export function rotateEvents(outcome: RotateOutcome): LabDomainEvent[] {
  switch (outcome.kind) {
    case 'rotated':
      return [{ type: 'refreshed', user: outcome.family.userId, family: outcome.family.id, generation: outcome.generation }]
    case 'grace':
      return [
        {
          type: 'refreshed',
          user: outcome.family.userId,
          family: outcome.family.id,
          generation: outcome.generation,
          graceOf: outcome.replayedGeneration,
        },
      ]
    case 'reuse':
      return [
        { type: 'familyRevoked', family: outcome.family.id, reason: 'reuse' },
        {
          type: 'reuseDetected',
          code: outcome.code,
          user: outcome.family.userId,
          family: outcome.family.id,
          generation: outcome.generation,
          sinceRotationMs: outcome.sinceRotationMs,
          ...(outcome.ageAtLeast ? { ageAtLeast: true as const } : {}),
        },
      ]
    case 'rejected':
      return [
        {
          type: 'refreshRejected',
          code: outcome.code,
          ...('family' in outcome
            ? { session: { user: outcome.family.userId, family: outcome.family.id, generation: outcome.generation } }
            : {}),
        },
      ]
  }
}

/** Compares digests so the comparison takes the same time whatever the guess. */
function samePassword(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
