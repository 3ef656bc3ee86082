import type { Context, MiddlewareHandler, Next } from 'hono'
import { LabError } from '../../src/shared/errors.js'
import type { Lab } from '../lab.js'
import { isPromise } from '../store.js'
import type { AccessClaims } from '../tokens.js'

export interface AuthedEnv {
  Variables: { claims: AccessClaims }
}

/** The token of an `Authorization: Bearer <token>` header, or the error that header deserves. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw new LabError('MISSING_TOKEN', 'send the access token as "Authorization: Bearer <access_token>"')
  }
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header)
  if (!match?.[1]) throw new LabError('INVALID_TOKEN', 'the Authorization header must be "Bearer <access_token>"')
  return match[1]
}

/**
 * Lets a request through only with a valid access token whose session is still active (unless
 * `--stateless-access` mimics plain JWTs that live until `exp` whatever happens to the session).
 */
export function requireAccessToken(lab: Lab): MiddlewareHandler<AuthedEnv> {
  function admit(c: Context<AuthedEnv>, next: Next, claims: AccessClaims): Promise<void> {
    if (lab.expiry.isExpiredEarly(claims)) throw new LabError('TOKEN_EXPIRED', 'the access token was expired by the lab; refresh it')
    if (lab.settings.statelessAccess) return pass(c, next, claims, true)
    // The memory store answers at once; only the Redis store's promise is awaited.
    const active = lab.store.isActive(claims.sid)
    return isPromise(active) ? active.then((ok) => pass(c, next, claims, ok)) : pass(c, next, claims, active)
  }
  function pass(c: Context<AuthedEnv>, next: Next, claims: AccessClaims, active: boolean): Promise<void> {
    if (!active) throw new LabError('TOKEN_REVOKED', 'the session of this access token was revoked; sign in again')
    c.set('claims', claims)
    return next()
  }
  return function requireAccess(c, next) {
    const token = bearerToken(c.req.header('authorization'))
    const now = lab.clock.now()
    // A token verified before is checked without an await: most authed requests carry one.
    const known = lab.tokens.verifiedBefore(token, now)
    if (known !== undefined) return admit(c, next, known)
    return lab.tokens.verify(token, now).then((claims) => admit(c, next, claims))
  }
}
