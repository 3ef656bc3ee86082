import { createHash, createHmac } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { LabError } from '../src/shared/errors.js'
import type { SigningKeys } from './keys.js'
import { randomBase64url } from './random.js'

/** The claims of an access token, as docs/design.md fixes them. */
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
  /** The OAuth client the token was issued to (RFC 9068 §2.2). */
  client_id?: string
  /** The scope granted, space-separated (RFC 9068 §2.2.3). */
  scope?: string
  nbf?: number
}

/** What an access token says besides its session: its client, scope and the user's own claims. */
export interface AccessGrant {
  clientId: string
  scope?: string
  claims?: Readonly<Record<string, unknown>>
}

export interface SignedAccessToken {
  token: string
  /** Issue order of this token, from 1; also the first part of its `jti`. */
  serial: number
  /** The access TTL in whole seconds, rounded up: `expires_in`. Never 0; `exp` is at least this far away. */
  expiresIn: number
  /** The token's `exp`, in Unix seconds. */
  exp: number
}

/** Serials are recorded by --data-dir a block at a time, not per token. */
const SERIAL_BLOCK = 10_000

/** How many verified tokens to remember; an authed burst reuses a handful, a load test a few thousand. */
const VERIFIED_CACHE_SIZE = 10_000

/**
 * Signs and verifies access tokens with jose, with keys loaded once at startup (never per request).
 * JWT times have one-second resolution, so the access TTL is rounded up to whole seconds (a
 * `500ms` TTL answers `"expires_in": 1`, never 0) and `exp` lies that many seconds after the next
 * whole second: a client that trusts `expires_in` never holds a token past its `exp`.
 */
export class AccessTokens {
  readonly #keys: Promise<SigningKeys>
  #serial = 0
  /**
   * Tokens whose signature and claims were verified, by the token string. A hit still checks `exp`
   * and `nbf` against the lab clock (the caller checks revocation and early expiry every time), so
   * the cache changes how fast an answer comes, never what it is.
   */
  readonly #verified = new Map<string, AccessClaims>()
  /**
   * With --data-dir: told, before the first token of each block of serials is issued, where the
   * block ends, so a restart starts above every serial ever issued.
   */
  onSerialBlock: ((floor: number) => void) | undefined
  /** The `iss` of new tokens; `startServer` sets it to the server's URL unless `--issuer` was given. */
  issuer: string

  constructor(
    keys: Promise<SigningKeys>,
    readonly audience: string,
    issuer = 'http://localhost',
  ) {
    this.#keys = keys
    this.issuer = issuer
    keys.catch(() => undefined) // reported by ready(), awaited before the server listens
  }

  /** Resolves once the keys are loaded; rejects with the ConfigError that stops startup. */
  async keys(): Promise<SigningKeys> {
    return this.#keys
  }

  async sign(subject: string, sessionId: string, now: number, ttlMs: number, grant?: AccessGrant): Promise<SignedAccessToken> {
    const iat = Math.floor(now / 1000)
    // Whole seconds: the TTL rounded up (500ms → 1 s) is `expires_in`, and `exp` is that many
    // seconds after the next whole second, so the token outlives what `expires_in` promises.
    const expiresIn = Math.ceil(ttlMs / 1000)
    const exp = Math.ceil(now / 1000) + expiresIn
    const serial = ++this.#serial
    if (serial % SERIAL_BLOCK === 1) this.onSerialBlock?.(serial - 1 + SERIAL_BLOCK)
    const keys = await this.#keys
    const jti = `${serial.toString(36)}.${randomBase64url(9)}`
    // The user's own claims first, so none of refresh-lab's can be overridden (config.ts refuses them too).
    const extra: Record<string, unknown> = grant?.claims === undefined ? {} : { ...grant.claims }
    if (grant) extra['client_id'] = grant.clientId
    if (grant?.scope !== undefined) extra['scope'] = grant.scope
    if (keys.hmacSecret) {
      // Set one by one, in the order a spread would give: `{ ...extra, sid, … }` cost about 10 µs
      // a token here, a quarter of a refresh's CPU (V8 builds a new shape for each such object).
      const claims = extra
      claims['sid'] = sessionId
      claims['typ'] = 'access'
      claims['iss'] = this.issuer
      claims['aud'] = this.audience
      claims['sub'] = subject
      claims['jti'] = jti
      claims['iat'] = iat
      claims['exp'] = exp
      return { token: signHs256(claims, keys.hmacSecret), serial, expiresIn, exp }
    }
    const header = keys.publicJwk ? { alg: keys.alg, typ: AT_JWT, kid: keys.publicJwk.kid } : { alg: keys.alg, typ: AT_JWT }
    const token = await new SignJWT({ ...extra, sid: sessionId, typ: 'access' })
      .setProtectedHeader(header)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(subject)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(keys.signKey)
    return { token, serial, expiresIn, exp }
  }

  /**
   * An OpenID Connect ID token (Core §2), signed with the same key as access tokens. Its `at_hash`
   * is the left half of the access token's hash by the algorithm's hash (SHA-512 for EdDSA, as
   * Ed25519 uses), base64url (Core §3.1.3.6).
   */
  async signIdToken(claims: Record<string, unknown>, accessToken: string): Promise<string> {
    const keys = await this.#keys
    const digest = createHash(keys.alg === 'EdDSA' ? 'sha512' : 'sha256')
      .update(accessToken)
      .digest()
    const atHash = digest.subarray(0, digest.length / 2).toString('base64url')
    const header = keys.publicJwk ? { alg: keys.alg, typ: 'JWT', kid: keys.publicJwk.kid } : { alg: keys.alg, typ: 'JWT' }
    return new SignJWT({ ...claims, at_hash: atHash }).setProtectedHeader(header).setIssuer(this.issuer).sign(keys.signKey)
  }

  /**
   * The claims of an ID token this server signed, expired or not: RP-initiated logout takes an
   * `id_token_hint` long after the token's `exp`. Undefined for anything else.
   */
  async idTokenClaims(token: string): Promise<Record<string, unknown> | undefined> {
    if (!isCanonicalJws(token)) return undefined
    const keys = await this.#keys
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys.verifyKey, {
        algorithms: [keys.alg],
        issuer: this.issuer,
        currentDate: new Date((typeof decodeExp(token) === 'number' ? (decodeExp(token) as number) : 0) * 1000 - 1000),
      })
      return protectedHeader.typ === 'JWT' && payload['typ'] === undefined ? payload : undefined
    } catch {
      return undefined
    }
  }

  /** After a restart: continue above every serial a previous run may have issued. */
  restoreSerial(floor: number): void {
    if (floor > this.#serial) this.#serial = floor
  }

  /** Where the current block of serials ends: what a compaction records. */
  get serialFloor(): number {
    return Math.ceil(this.#serial / SERIAL_BLOCK) * SERIAL_BLOCK
  }

  /** The serial of the last token signed: everything up to it exists now. */
  get lastSerial(): number {
    return this.#serial
  }

  /**
   * The claims of a token `verify` accepted before, checked against `now` as `verify` checks a cache
   * hit (throws when expired or not yet valid); undefined when it is not in the cache, and then only
   * `verify` can tell. Synchronous, so the bearer check of a known token needs no `await` (issue 14).
   * Only canonical spellings are ever cached, so a hit needs no spelling check.
   */
  verifiedBefore(token: string, now: number): AccessClaims | undefined {
    const cached = this.#verified.get(token)
    if (cached === undefined) return undefined
    const seconds = Math.floor(now / 1000)
    if (cached.exp <= seconds) throw new LabError('TOKEN_EXPIRED', 'the access token has expired; refresh it')
    if (cached.nbf !== undefined && cached.nbf > seconds) throw new LabError('INVALID_TOKEN', 'the access token is not valid yet (nbf)')
    return cached
  }

  /** Verifies signature, issuer, audience, type and expiry against the lab clock's `now`. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    // Before the cache: a base64url decoder forgives a trailing `=` or a last character whose spare
    // bits differ, so one token has many spellings, and each would get its own cache slot.
    if (!isCanonicalJws(token)) throw new LabError('INVALID_TOKEN', 'the access token is not a JWT in canonical base64url')
    const cached = this.verifiedBefore(token, now)
    if (cached !== undefined) return cached
    const claims = await this.#verifyWithJose(token, now)
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string)
    this.#verified.set(token, claims)
    // A token past its expiry is kept as well, and refused here: the next request that carries it
    // is refused from the cache, without jose and its error (a burst sends thousands of them).
    return this.verifiedBefore(token, now) as AccessClaims
  }

  async #verifyWithJose(token: string, now: number): Promise<AccessClaims> {
    const keys = await this.#keys
    // Only the configured algorithm: a token signed otherwise (alg confusion, `none`) is refused.
    const { payload } = await jwtVerify(token, keys.verifyKey, {
      algorithms: [keys.alg],
      issuer: this.issuer,
      audience: this.audience,
      currentDate: new Date(now),
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    }).catch((error: unknown) => {
      // Refused for its expiry alone: jose checks the signature, then the typ, the required claims,
      // the issuer, the audience and nbf before exp, so this is a token of ours past its time.
      if (error instanceof errors.JWTExpired && error.claim === 'exp') return { payload: error.payload }
      throw toLabError(error)
    })
    if (payload['typ'] !== 'access') throw new LabError('INVALID_TOKEN', 'the token is not an access token')
    // Every claim the server reads, by its type: a well-signed token with `"jti": 123` is still not
    // one of ours, and must get a 401 rather than reach code that expects a string (issue 13).
    for (const claim of ['sub', 'sid', 'jti'] as const) {
      if (typeof payload[claim] !== 'string') throw new LabError('INVALID_TOKEN', `the access token's "${claim}" is not a string`)
    }
    return payload as unknown as AccessClaims
  }
}

/** The `exp` of a JWT, read without verifying it: only to check an expired ID token's signature. */
function decodeExp(token: string): unknown {
  try {
    return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }).exp
  } catch {
    return undefined
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
  // parseInt stops at the `.` (not a base-36 digit), so no split: this runs on every authed request.
  const serial = Number.parseInt(claims.jti, 36)
  return Number.isSafeInteger(serial) ? serial : 0
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const BASE64URL_TEXT = /^[A-Za-z0-9_-]+$/

/**
 * Three segments, each the only base64url spelling of its bytes (RFC 7515 §2: no padding): no
 * `=`, no length that leaves one character over, and the bits a last character carries beyond its
 * bytes all zero.
 */
export function isCanonicalJws(token: string): boolean {
  const segments = token.split('.')
  return segments.length === 3 && segments.every(isCanonicalBase64url)
}

function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL_TEXT.test(segment)) return false
  const over = segment.length % 4
  if (over === 0) return true
  if (over === 1) return false
  // Two characters over carry one byte and 4 spare bits; three carry two bytes and 2 spare bits.
  const last = BASE64URL_ALPHABET.indexOf(segment.at(-1) as string)
  return (last & (over === 2 ? 0b1111 : 0b11)) === 0
}

/** RFC 9068 §2.1: a JWT access token says so in its header, so it cannot pass for an ID token. */
const AT_JWT = 'at+jwt'

const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: AT_JWT })).toString('base64url')

/**
 * An HS256 JWT signed with node:crypto's HMAC: the same bytes jose would produce, at a small
 * fraction of the cost (jose's HS256 goes through WebCrypto, about 20 times the HMAC itself).
 * Tokens are still verified with jose.
 */
function signHs256(claims: Record<string, unknown>, secret: Uint8Array): string {
  const signingInput = `${HS256_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
}
