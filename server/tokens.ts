import { randomBytes, webcrypto } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { LabError } from '../src/shared/errors.js'

/** The claims of an access token, as DESIGN.md fixes them. */
export interface AccessClaims {
  iss: string
  aud: string
  sub: string
  /** The refresh family (session) this token was issued for. */
  sid: string
  jti: string
  iat: number
  exp: number
  typ: 'access'
}

export interface SignedAccessToken {
  token: string
  /** Issue order of this token, from 1; also the first part of its `jti`. */
  serial: number
  /** Seconds from `now` to `exp`, as `expires_in` reports it. */
  expiresIn: number
}

interface AccessTokenOptions {
  secret: Uint8Array
  issuer: string
  audience: string
}

/**
 * Signs and verifies HS256 access tokens with jose. The key is imported as a `CryptoKey` once,
 * not on every request. JWT times have one-second resolution, so `exp` is rounded up: a `500ms`
 * access TTL yields a token that lives until the next whole second.
 */
export class AccessTokens {
  readonly #key: Promise<webcrypto.CryptoKey>
  #serial = 0

  constructor(private readonly options: AccessTokenOptions) {
    this.#key = webcrypto.subtle.importKey('raw', options.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  }

  async sign(subject: string, sessionId: string, now: number, ttlMs: number): Promise<SignedAccessToken> {
    const iat = Math.floor(now / 1000)
    const exp = Math.ceil((now + ttlMs) / 1000)
    const serial = ++this.#serial
    const token = await new SignJWT({ sid: sessionId, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(subject)
      .setJti(`${serial.toString(36)}.${randomBytes(9).toString('base64url')}`)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await this.#key)
    return { token, serial, expiresIn: Math.max(0, exp - Math.ceil(now / 1000)) }
  }

  /** The serial of the last token signed: everything up to it exists now. */
  get lastSerial(): number {
    return this.#serial
  }

  /** Verifies signature, issuer, audience, type and expiry against the lab clock's `now`. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    const key = await this.#key
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: this.options.issuer,
      audience: this.options.audience,
      currentDate: new Date(now),
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    }).catch((error: unknown) => {
      throw toLabError(error)
    })
    if (payload['typ'] !== 'access') throw new LabError('INVALID_TOKEN', 'the token is not an access token')
    if (typeof payload['sid'] !== 'string') throw new LabError('INVALID_TOKEN', 'the access token has no session')
    return payload as unknown as AccessClaims
  }
}

function toLabError(error: unknown): unknown {
  if (error instanceof errors.JWTExpired) return new LabError('TOKEN_EXPIRED', 'the access token has expired; refresh it')
  if (error instanceof errors.JOSEError) return new LabError('INVALID_TOKEN', `the access token is not valid (${error.code})`)
  return error
}

/**
 * The issue serial a `jti` carries (`<serial base36>.<random>`), so the lab can expire "every access
 * token issued so far" without keeping a list of them. 0 when the `jti` is not ours.
 */
export function serialOf(claims: Pick<AccessClaims, 'jti'>): number {
  const serial = Number.parseInt(claims.jti.split('.')[0] ?? '', 36)
  return Number.isSafeInteger(serial) ? serial : 0
}
