import type { Context, MiddlewareHandler, Next } from 'hono'
import { decodeJwt } from 'jose'
import { LabError } from '../../src/shared/errors.js'
import type { Lab } from '../lab.js'
import { andThen, isPromise, type MaybePromise } from '../store.js'
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
    const refusal = refusalOf(lab, claims)
    return isPromise(refusal) ? refusal.then((found) => pass(c, next, claims, found)) : pass(c, next, claims, refusal)
  }
  function pass(c: Context<AuthedEnv>, next: Next, claims: AccessClaims, refusal: LabError | undefined): Promise<void> {
    if (refusal) throw refusal
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

/**
 * Why a well-signed, unexpired access token is refused all the same, if it is. The memory store
 * answers at once; only the Redis store's promise is awaited.
 */
function refusalOf(lab: Lab, claims: AccessClaims): MaybePromise<LabError | undefined> {
  if (lab.expiry.isExpiredEarly(claims)) return new LabError('TOKEN_EXPIRED', 'the access token was expired by the lab; refresh it')
  if (lab.settings.statelessAccess) return undefined
  return andThen(lab.store.isActive(claims.sid), (active) =>
    active ? undefined : new LabError('TOKEN_REVOKED', 'the session of this access token was revoked; sign in again'),
  )
}

/**
 * The session and `jti` of an access token that `requireAccessToken` would refuse now (expired,
 * expired early, or of a revoked session); undefined when it would let it through, or when the
 * header carries nothing that names a session. Only `?_wait=refresh` asks, to hold such a request
 * until its session refreshes, so a token past `exp` is read without its signature checked.
 */
export async function refusedAccess(lab: Lab, header: string | undefined): Promise<Pick<AccessClaims, 'sid' | 'jti'> | undefined> {
  let token: string | undefined
  try {
    token = bearerToken(header)
    const now = lab.clock.now()
    const claims = lab.tokens.verifiedBefore(token, now) ?? (await lab.tokens.verify(token, now))
    return (await refusalOf(lab, claims)) === undefined ? undefined : claims
  } catch {
    return sessionNamedBy(token)
  }
}

function sessionNamedBy(token: string | undefined): Pick<AccessClaims, 'sid' | 'jti'> | undefined {
  try {
    const { sid, jti } = decodeJwt(token ?? '')
    return typeof sid === 'string' && typeof jti === 'string' ? { sid, jti } : undefined
  } catch {
    return undefined
  }
}
