import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { loadSigningKeys, type SigningAlg } from './keys.js'
import { AccessTokens } from './tokens.js'

const secret = new TextEncoder().encode('test-secret-test-secret-test-secret')
const tokensFor = (alg: SigningAlg) => new AccessTokens(loadSigningKeys({ alg, secret }), 'refresh-lab')

describe('AccessTokens.sign: expires_in and exp agree', () => {
  // Instants at, just after and just before a whole second, and TTLs below, at and between whole seconds.
  const instants = [1_800_000_000_000, 1_800_000_000_300, 1_800_000_000_999]
  const ttls: [string, number, number][] = [
    ['1ms', 1, 1],
    ['500ms', 500, 1],
    ['1s', 1_000, 1],
    ['1500ms', 1_500, 2],
    ['30s', 30_000, 30],
    ['15m', 900_000, 900],
  ]

  it.each(['HS256', 'ES256'] as const)(
    '%s: expires_in is the TTL in whole seconds, rounded up, and the token lives at least that long',
    async (alg) => {
      const tokens = tokensFor(alg)
      for (const now of instants) {
        for (const [name, ttlMs, seconds] of ttls) {
          const signed = await tokens.sign('usr_1', 'fam_1', now, ttlMs)
          const claims = decodeJwt(signed.token)
          const at = `${name} at ${new Date(now).toISOString()}`
          expect(signed.expiresIn, at).toBe(seconds)
          expect(signed.exp, at).toBe(claims.exp)
          // Never past exp by trusting expires_in, and never more than a second short of it.
          expect((claims.exp as number) * 1000 - now, at).toBeGreaterThanOrEqual(seconds * 1000)
          expect((claims.exp as number) * 1000 - now, at).toBeLessThan(seconds * 1000 + 1000)
          expect(claims.iat, at).toBe(Math.floor(now / 1000))
        }
      }
    },
  )
})

describe('AccessTokens.verify: a token past its expiry', () => {
  it.each(['HS256', 'ES256'] as const)(
    '%s: is refused TOKEN_EXPIRED, then from the cache without jose; a forged one is never kept',
    async (alg) => {
      const tokens = tokensFor(alg)
      const now = 1_800_000_000_000
      const { token } = await tokens.sign('usr_1', 'fam_1', now, 60_000)
      const later = now + 120_000
      expect(tokens.verifiedBefore(token, later)).toBeUndefined()
      await expect(tokens.verify(token, later)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' })
      // Kept: refused synchronously from now on, as a token verified while it was valid is.
      expect(() => tokens.verifiedBefore(token, later)).toThrow(expect.objectContaining({ code: 'TOKEN_EXPIRED' }))
      // Its claims were checked as any others: back in its lifetime, the cache answers them.
      expect(tokens.verifiedBefore(token, now)).toMatchObject({ sub: 'usr_1', sid: 'fam_1', typ: 'access' })
      // A signature that does not verify is INVALID_TOKEN whatever its exp, and is not kept.
      const [header, payload, signature] = token.split('.') as [string, string, string]
      const forged = `${header}.${payload}.${signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`}`
      await expect(tokens.verify(forged, later)).rejects.toMatchObject({ code: 'INVALID_TOKEN' })
      expect(tokens.verifiedBefore(forged, later)).toBeUndefined()
    },
  )
})
