import type { Context, Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { LabError } from '../../src/shared/errors.js'
import { ROUTES } from '../../src/shared/wire.js'
import { type AuthedEnv, requireAccessToken } from '../http/bearer.js'
import { readJsonObject, requireString } from '../http/json-body.js'
import type { Lab } from '../lab.js'
import { checkCredentials, refreshSession, refreshUnreadable, signIn, signOut } from '../auth-service.js'
import { wireProfile, type WireAnswer } from '../wire-profiles.js'

/**
 * What one registration may store, so registrations cost bounded memory: an address as long as
 * RFC 5321 allows, a password far past any passphrase, a display name.
 */
export const REGISTER_LIMITS = { email: 254, password: 1_024, name: 200 } as const

/** Login, register, refresh (rotation with reuse detection), logout and "who am I", in the server's wire profile. */
export function registerAuthRoutes(app: Hono<AuthedEnv>, lab: Lab): void {
  const profile = wireProfile(lab.config.profile)
  const send = (c: Context, answer: WireAnswer) => c.json(answer.body, answer.status as ContentfulStatusCode)

  app.post(ROUTES.login, async function login(c) {
    const body = await readJsonObject(c, '{"email":"demo@example.com","password":"password"}')
    const user = checkCredentials(lab, requireString(body, 'email'), requireString(body, 'password'))
    return send(c, profile.tokens(await signIn(lab, user), 'signIn'))
  })

  app.post(ROUTES.register, async function register(c) {
    const body = await readJsonObject(c, '{"name":"Ada","email":"ada@example.com","password":"at least 8 characters"}')
    const email = requireString(body, 'email')
    const password = requireString(body, 'password')
    const name = typeof body['name'] === 'string' && body['name'] !== '' ? body['name'] : undefined
    if (email.length > REGISTER_LIMITS.email)
      throw new LabError('VALIDATION_ERROR', `"email" must be at most ${REGISTER_LIMITS.email} characters`)
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new LabError('VALIDATION_ERROR', '"email" must be an email address')
    if (password.length < 8) throw new LabError('VALIDATION_ERROR', '"password" must be at least 8 characters')
    if (password.length > REGISTER_LIMITS.password)
      throw new LabError('VALIDATION_ERROR', `"password" must be at most ${REGISTER_LIMITS.password} characters`)
    if (name !== undefined && name.length > REGISTER_LIMITS.name)
      throw new LabError('VALIDATION_ERROR', `"name" must be at most ${REGISTER_LIMITS.name} characters`)
    const user = lab.users.add(email, password, name)
    return send(c, profile.tokens(await signIn(lab, user), 'register'))
  })

  app.post(ROUTES.refresh, async function refresh(c) {
    let presented: string
    try {
      presented = requireString(await readJsonObject(c, '{"refresh_token":"<refresh_token>"}'), 'refresh_token')
    } catch (error) {
      if (error instanceof LabError) refreshUnreadable(lab, error.code)
      throw error
    }
    return send(c, profile.tokens(await refreshSession(lab, presented), 'refresh'))
  })

  app.post(ROUTES.logout, requireAccessToken(lab), async function logout(c) {
    const { sid, sub } = c.get('claims')
    await signOut(lab, sub, sid)
    return send(c, profile.signedOut())
  })

  app.get(ROUTES.me, requireAccessToken(lab), function me(c) {
    const user = lab.users.byId(c.get('claims').sub)
    if (!user) throw new LabError('INVALID_TOKEN', 'the user of this token no longer exists')
    return send(c, profile.me(user))
  })
}
