import { timingSafeEqual, createHash } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES, type DataEnvelope, type TokenPair } from '../../src/shared/wire.js'
import { type AuthedEnv, requireAccessToken } from '../http/bearer.js'
import { readJsonObject, requireString } from '../http/json-body.js'
import type { Lab } from '../lab.js'
import type { Family, RotateOutcome } from '../store.js'

const REFRESH_MESSAGES = {
  INVALID_REFRESH_TOKEN: 'the refresh token is not one this server issued',
  REFRESH_TOKEN_REVOKED: 'the session was revoked; sign in again',
  REFRESH_TOKEN_EXPIRED: 'the refresh token has expired; sign in again',
  REFRESH_TOKEN_REUSED: 'this refresh token was already rotated, so reuse was detected and the session revoked; sign in again',
} as const

/** Login, refresh (rotation with reuse detection), logout and "who am I". */
export function registerAuthRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  app.post(ROUTES.login, async function login(c) {
    const body = await readJsonObject(c, '{"email":"demo@example.com","password":"password"}')
    const email = requireString(body, 'email')
    const password = requireString(body, 'password')
    const user = lab.findUser(email)
    if (!user || !samePassword(password, user.password)) {
      throw new LabError('INVALID_CREDENTIALS', 'the email or password is wrong')
    }
    const now = lab.clock.now()
    const issued = lab.store.createFamily(user.id, now)
    lab.counters.login()
    lab.events.record({ type: 'login', user: user.id, family: issued.family.id, generation: 1, status: 200 })
    return c.json(await tokenPair(lab, issued.family, issued.token, now))
  })

  app.post(ROUTES.refresh, async function refresh(c) {
    try {
      return await rotateAndAnswer(c, lab)
    } catch (error) {
      if (error instanceof LabError) lab.counters.refreshRejected(error.code)
      throw error
    }
  })

  app.post(ROUTES.logout, requireAccessToken(lab), function logout(c) {
    const { sid, sub } = c.get('claims')
    lab.revokeFamily(sid, 'logout')
    lab.events.record({ type: 'logout', user: sub, family: sid, status: 200 })
    return c.json({ data: { signed_out: true } })
  })

  app.get(ROUTES.me, requireAccessToken(lab), function me(c) {
    const user = lab.userById(c.get('claims').sub)
    if (!user) throw new LabError('INVALID_TOKEN', 'the user of this token no longer exists')
    return c.json({ data: { id: user.id, email: user.email, name: user.name } })
  })
}

async function rotateAndAnswer(c: Context, lab: Lab): Promise<Response> {
  const body = await readJsonObject(c, '{"refresh_token":"<refresh_token>"}')
  const presented = requireString(body, 'refresh_token')
  const now = lab.clock.now()
  // The one atomic step: no await between reading the token's state and rotating it.
  const outcome = lab.store.rotate(presented, now)
  recordRefresh(lab, outcome)
  if (outcome.kind === 'rejected' || outcome.kind === 'reuse') {
    const hint = outcome.code === 'INVALID_REFRESH_TOKEN' && presented.split('.').length === 3
      ? '; this looks like an access token, but /refresh takes the refresh token'
      : ''
    throw new LabError(outcome.code, REFRESH_MESSAGES[outcome.code] + hint)
  }
  lab.counters.refreshSucceeded(outcome.kind === 'grace')
  return c.json(await tokenPair(lab, outcome.family, outcome.token, now))
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
        detail: `grace reuse of generation ${outcome.replayedGeneration}; returned the token already issued`,
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

async function tokenPair(lab: Lab, family: Family, refreshToken: string, now: number): Promise<DataEnvelope<TokenPair>> {
  const access = await lab.tokens.sign(family.userId, family.id, now, lab.settings.accessTtlMs)
  return {
    data: { access_token: access.token, refresh_token: refreshToken, expires_in: access.expiresIn, token_type: 'Bearer' },
  }
}

/** Compares digests so the comparison takes the same time whatever the guess. */
function samePassword(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
