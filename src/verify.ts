/**
 * refresh-lab/verify: for a backend's tests, verify refresh-lab's access tokens by the lab's clock.
 *
 * A backend that verifies access tokens itself (jose's `jwtVerify` with the JWKS) checks `exp`
 * against the real clock, so it never sees the lab clock move (`POST /_lab/clock`) and a token
 * the lab calls expired still verifies. This verifier reads the lab clock before each check and
 * hands it to `jwtVerify` as `currentDate`: one loopback request per verification. For what a clock
 * cannot tell (a session revoked, `POST /_lab/expire`), `introspect` asks the lab (RFC 7662).
 * docs/server.md, "Expiry your own backend can see", weighs the two.
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions, type JWTVerifyResult } from 'jose'

export interface LabVerifierOptions {
  /** The lab's URL, e.g. `process.env.REFRESH_LAB_URL`. */
  url: string
  /** The `aud` your API expects; the lab's `--audience`, `refresh-lab` by default. */
  audience?: string
  /** The HS256 secret (`--secret`), when the lab signs with HS256 and so publishes no key. */
  secret?: string | Uint8Array
  /** `--lab-token`, when the lab needs one for `/_lab/*`. */
  labToken?: string
  fetch?: typeof fetch
}

export interface LabVerifier {
  /** The lab clock's current time (`GET /_lab/clock`). */
  now(): Promise<Date>
  /** jose's `jwtVerify` with the lab's keys, issuer and audience, at the lab clock's time. */
  verify(token: string, options?: JWTVerifyOptions): Promise<JWTVerifyResult<JWTPayload>>
  /** RFC 7662 introspection: what the lab itself says, revocation and early expiry included. */
  introspect(token: string): Promise<{ active: boolean } & Record<string, unknown>>
}

interface Metadata {
  issuer: string
  jwks_uri: string
  introspection_endpoint: string
}

export function createLabVerifier(options: LabVerifierOptions): LabVerifier {
  const base = options.url.replace(/\/+$/, '')
  const fetchImpl = options.fetch ?? fetch
  const audience = options.audience ?? 'refresh-lab'
  const labHeaders: Record<string, string> = options.labToken ? { authorization: `Bearer ${options.labToken}` } : {}
  let metadata: Promise<Metadata> | undefined
  let keys: Promise<ReturnType<typeof createLocalJWKSet>> | undefined
  const secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret

  const getJson = async <T>(url: string, init?: RequestInit): Promise<T> => {
    const res = await fetchImpl(url, init)
    if (!res.ok) throw new Error(`refresh-lab/verify: ${init?.method ?? 'GET'} ${url} answered ${res.status}`)
    return (await res.json()) as T
  }
  const discover = () => {
    metadata ??= getJson<Metadata>(`${base}/.well-known/openid-configuration`)
    return metadata
  }
  const publishedKeys = () => {
    keys ??= discover().then(async ({ jwks_uri }) => {
      const jwks = await getJson<{ keys: object[] }>(jwks_uri)
      if (jwks.keys.length === 0) throw new Error('refresh-lab/verify: the lab signs with HS256 and publishes no key; give `secret`')
      return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0])
    })
    return keys
  }
  const now = async () => new Date((await getJson<{ nowMs: number }>(`${base}/_lab/clock`, { headers: labHeaders })).nowMs)

  return {
    now,
    async verify(token, verifyOptions = {}) {
      const [{ issuer }, currentDate] = await Promise.all([discover(), now()])
      const checks = { issuer, audience, ...verifyOptions, currentDate }
      if (secret !== undefined) return jwtVerify(token, secret, checks)
      return jwtVerify(token, await publishedKeys(), checks)
    },
    async introspect(token) {
      const { introspection_endpoint } = await discover()
      return getJson(introspection_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      })
    },
  }
}
