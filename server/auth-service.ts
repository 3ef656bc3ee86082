import { createHash, timingSafeEqual } from 'node:crypto'
import { LabError } from '../src/shared/errors.js'
import type { UserAccount } from './config.js'
import type { Lab } from './lab.js'
import type { Family, RotateOutcome } from './store.js'

/** A fresh token pair, whatever the wire shape it goes out in. */
export interface IssuedTokens {
  accessToken: string
  refreshToken: string
  /** Seconds until the access token expires, by the lab clock. */
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
 * Sign-in and refresh, shared by every wire profile (`/api/auth/*` and `/oauth/token`), so the
 * rotation rules, the counters and the event log are the same whichever way a client speaks.
 */
export function checkCredentials(lab: Lab, email: string, password: string): UserAccount {
  const user = lab.findUser(email)
  if (!user || !samePassword(password, user.password)) throw new LabError('INVALID_CREDENTIALS', 'the email or password is wrong')
  return user
}

export async function signIn(lab: Lab, user: UserAccount): Promise<IssuedTokens> {
  const now = lab.clock.now()
  const issued = lab.store.createFamily(user.id, now)
  lab.counters.login()
  lab.events.record({ type: 'login', user: user.id, family: issued.family.id, generation: 1, status: 200 })
  return tokens(lab, issued.family, issued.token, now)
}

/**
 * Spends a refresh token: one atomic rotate, then the answer. Every outcome is counted; a refused
 * one throws the LabError the route turns into its profile's error.
 */
export async function refreshSession(lab: Lab, presented: string): Promise<IssuedTokens> {
  const now = lab.clock.now()
  // The one atomic step: no await between reading the token's state and rotating it.
  const outcome = lab.store.rotate(presented, now)
  recordRefresh(lab, outcome)
  if (outcome.kind === 'rejected' || outcome.kind === 'reuse') {
    lab.counters.refreshRejected(outcome.code)
    const hint =
      outcome.code === 'INVALID_REFRESH_TOKEN' && presented.split('.').length === 3
        ? '; this looks like an access token, but a refresh takes the refresh token'
        : ''
    throw new LabError(outcome.code, REFRESH_MESSAGES[outcome.code] + hint)
  }
  lab.counters.refreshSucceeded(outcome.kind === 'grace')
  return tokens(lab, outcome.family, outcome.token, now)
}

async function tokens(lab: Lab, family: Family, refreshToken: string, now: number): Promise<IssuedTokens> {
  const access = await lab.tokens.sign(family.userId, family.id, now, lab.settings.accessTtlMs)
  return {
    accessToken: access.token,
    refreshToken,
    expiresIn: access.expiresIn,
    expiresAt: Math.ceil(now / 1000) + access.expiresIn,
    family,
    user: lab.userById(family.userId),
  }
}

function recordRefresh(lab: Lab, outcome: RotateOutcome): void {
  switch (outcome.kind) {
    case 'rotated':
      lab.events.record({ type: 'refresh', status: 200, user: outcome.family.userId, family: outcome.family.id, generation: outcome.generation })
      return
    case 'grace':
      lab.events.record({
        type: 'refresh',
        status: 200,
        user: outcome.family.userId,
        family: outcome.family.id,
        generation: outcome.generation,
        detail: `grace reuse of generation ${outcome.replayedGeneration}; answered generation ${outcome.generation}`,
      })
      return
    case 'reuse':
      lab.counters.reuseDetected()
      lab.counters.familyRevoked()
      lab.events.record({
        type: 'reuse_detected',
        status: 401,
        code: outcome.code,
        user: outcome.family.userId,
        family: outcome.family.id,
        generation: outcome.generation,
        detail: `generation ${outcome.generation} replayed ${outcome.sinceRotationMs} ms after it was rotated; family revoked`,
      })
      return
    case 'rejected':
      lab.events.record({
        type: 'refresh',
        status: 401,
        code: outcome.code,
        ...('family' in outcome ? { user: outcome.family.userId, family: outcome.family.id, generation: outcome.generation } : {}),
      })
  }
}

/** Compares digests so the comparison takes the same time whatever the guess. */
function samePassword(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
