import { createRemoteJWKSet, errors, jwtVerify } from 'jose'
import { startLab, type RunningLab } from 'refresh-lab'
import { createLabVerifier } from 'refresh-lab/verify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Expiry a user's own backend can see. jose's jwtVerify with the JWKS and the real clock cannot see
 * the lab clock; refresh-lab/verify reads it, and introspection sees everything the lab does.
 */
describe.each(['ES256', 'HS256'] as const)('a backend verifying %s access tokens itself', (alg) => {
  const secret = 'a-backend-test-secret-of-some-length'
  let lab: RunningLab
  beforeAll(async () => {
    lab = await startLab({ alg, accessTtl: '15m', ...(alg === 'HS256' ? { secret } : {}) })
  })
  afterAll(async () => {
    await lab.stop()
  })

  async function signIn(): Promise<string> {
    const res = await fetch(`${lab.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: 'demo@example.com', password: 'password' }),
    })
    return ((await res.json()) as { access_token: string }).access_token
  }
  const verifier = () => createLabVerifier({ url: lab.url, ...(alg === 'HS256' ? { secret } : {}) })
  const plainVerify = (token: string) =>
    alg === 'HS256'
      ? jwtVerify(token, new TextEncoder().encode(secret), { audience: 'refresh-lab' })
      : jwtVerify(token, createRemoteJWKSet(new URL(`${lab.url}/.well-known/jwks.json`)), { audience: 'refresh-lab' })

  it('after the lab clock moves 20 minutes, plain jwtVerify still says valid; the lab-clock verifier says expired', async () => {
    await lab.reset()
    const token = await signIn()
    const labVerifier = verifier()
    expect((await labVerifier.verify(token)).payload.sub).toBe('usr_1')
    await lab.clock.advance('20m')
    // The gap the verifier closes: by the real clock the token has 15 minutes left.
    expect((await plainVerify(token)).payload.sub).toBe('usr_1')
    const verdict = await labVerifier.verify(token).catch((e: unknown) => e)
    expect(verdict).toBeInstanceOf(errors.JWTExpired)
    expect((await labVerifier.introspect(token)).active).toBe(false)
    expect((await labVerifier.now()).getTime()).toBeGreaterThan(Date.now() + 19 * 60_000)
  })

  it('an early expiry (/_lab/expire) is seen by introspection, not by any clock', async () => {
    await lab.reset()
    const token = await signIn()
    const labVerifier = verifier()
    expect((await labVerifier.introspect(token)).active).toBe(true)
    await lab.expire()
    expect((await labVerifier.verify(token)).payload.sub).toBe('usr_1')
    expect((await labVerifier.introspect(token)).active).toBe(false)
  })
})
