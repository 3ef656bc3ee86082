import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DESCRIBED_TOKEN_CHARS, decodeRefreshToken, encodeRefreshToken } from './refresh-token-format.js'

const key = randomBytes(32)
const described = { familyId: 'fam_AbCdEfGhIjKl', generation: 70_000, expiresAt: 1_700_604_800_123 }

describe('self-describing refresh tokens', () => {
  it('carry family, generation and expiry, and read back only with the key that signed them', () => {
    const token = encodeRefreshToken(key, described) as string
    expect(token).toHaveLength(DESCRIBED_TOKEN_CHARS)
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeRefreshToken(key, token)).toEqual(described)
    expect(decodeRefreshToken(randomBytes(32), token)).toBeUndefined()
  })

  it('refuse a changed byte, a changed length and a second spelling of the same bytes', () => {
    const token = encodeRefreshToken(key, described) as string
    const bytes = Buffer.from(token, 'base64url')
    for (const at of [0, 10, 16, 30, 35]) {
      const changed = Buffer.from(bytes)
      changed[at] = (changed[at] as number) ^ 1
      expect(decodeRefreshToken(key, changed.toString('base64url'))).toBeUndefined()
    }
    expect(decodeRefreshToken(key, token.slice(1))).toBeUndefined()
    expect(decodeRefreshToken(key, `${token.slice(0, -1)}=`)).toBeUndefined()
    expect(decodeRefreshToken(key, 'x'.repeat(43))).toBeUndefined()
  })

  it('cannot carry a family id of another shape, or a generation or a time past 48 bits', () => {
    expect(encodeRefreshToken(key, { ...described, familyId: 'fam_old' })).toBeUndefined()
    expect(encodeRefreshToken(key, { ...described, familyId: 'usr_AbCdEfGhIjKl' })).toBeUndefined()
    expect(encodeRefreshToken(key, { ...described, generation: 2 ** 48 })).toBeUndefined()
    expect(encodeRefreshToken(key, { ...described, expiresAt: 2 ** 48 })).toBeUndefined()
    expect(encodeRefreshToken(key, { ...described, expiresAt: 1.5 })).toBeUndefined()
  })
})
