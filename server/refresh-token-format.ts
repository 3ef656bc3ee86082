import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The memory store's refresh tokens (docs/design.md, "Refresh tokens that describe themselves"):
 * the family, the generation and the token's own expiry, under a MAC keyed with the store's key.
 * Opaque to clients, unforgeable without the key, and enough for the store to judge a token whose
 * record it has forgotten: a rotated token needs no record to be caught as a reuse.
 *
 *   bytes  0..8   the family id's 9 random bytes (`fam_` + 12 base64url characters)
 *          9..12  the generation, unsigned 32-bit big-endian
 *         13..18  the token's expiry in lab milliseconds, unsigned 48-bit big-endian
 *         19..35  the first 17 bytes of HMAC-SHA256(key, "rl-rt2" ‖ bytes 0..18)
 *
 * 36 bytes, 48 base64url characters. The tokens of data dirs written before this format (43
 * random characters) do not decode; the store keeps their records until they expire, as before.
 */

export interface DescribedToken {
  familyId: string
  generation: number
  expiresAt: number
}

/** The length of every self-describing token; the older random tokens are 43 characters. */
export const DESCRIBED_TOKEN_CHARS = 48

const FAMILY_PREFIX = 'fam_'
const PAYLOAD_BYTES = 19
const MAC_BYTES = 17
const DOMAIN = Buffer.from('rl-rt2')
const MAX_UINT48 = 2 ** 48 - 1

/** The token of one generation of a family; undefined for a family id this format cannot carry. */
export function encodeRefreshToken(key: Buffer, described: DescribedToken): string | undefined {
  const { familyId: id, generation, expiresAt } = described
  if (!id.startsWith(FAMILY_PREFIX) || id.length !== FAMILY_PREFIX.length + 12) return undefined
  if (!(Number.isInteger(generation) && generation >= 0 && generation <= 0xffff_ffff)) return undefined
  if (!(Number.isInteger(expiresAt) && expiresAt >= 0 && expiresAt <= MAX_UINT48)) return undefined
  const bytes = Buffer.allocUnsafe(PAYLOAD_BYTES + MAC_BYTES)
  if (bytes.write(id.slice(FAMILY_PREFIX.length), 0, 'base64url') !== 9) return undefined
  bytes.writeUInt32BE(generation, 9)
  bytes.writeUIntBE(expiresAt, 13, 6)
  macOf(key, bytes).copy(bytes, PAYLOAD_BYTES, 0, MAC_BYTES)
  return bytes.toString('base64url')
}

/** What a token says of itself, once its MAC checks out; undefined for anything else. */
export function decodeRefreshToken(key: Buffer, token: string): DescribedToken | undefined {
  if (token.length !== DESCRIBED_TOKEN_CHARS) return undefined
  const bytes = Buffer.from(token, 'base64url')
  // Only the one canonical spelling: a token that does not round-trip is not one we issued.
  if (bytes.length !== PAYLOAD_BYTES + MAC_BYTES || bytes.toString('base64url') !== token) return undefined
  if (!timingSafeEqual(macOf(key, bytes).subarray(0, MAC_BYTES), bytes.subarray(PAYLOAD_BYTES))) return undefined
  return {
    familyId: FAMILY_PREFIX + bytes.toString('base64url', 0, 9),
    generation: bytes.readUInt32BE(9),
    expiresAt: bytes.readUIntBE(13, 6),
  }
}

function macOf(key: Buffer, bytes: Buffer): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(bytes.subarray(0, PAYLOAD_BYTES)).digest()
}
