import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The memory store's refresh tokens (docs/design.md, "Refresh tokens that describe themselves"):
 * the family, the generation and the token's own expiry, under a MAC keyed with the store's key.
 * Opaque to clients, unforgeable without the key, and enough for the store to judge a token whose
 * record it has forgotten: a rotated token needs no record to be caught as a reuse.
 *
 * 48 base64url characters: 28 of payload, then 20 of MAC.
 *   payload (21 bytes)  the family id's 9 random bytes (`fam_` + 12 base64url characters), the
 *                       generation and the token's expiry in lab milliseconds, each an unsigned
 *                       48-bit big-endian integer
 *   MAC                 the first 120 bits of HMAC-SHA256(key, "rl-rt2." + the payload's characters)
 *
 * Both parts are whole base64url groups, so the MAC is taken straight from the digest's own
 * base64url text (a digest as a Buffer costs a microsecond more, and this is on every rotation).
 * The tokens of data dirs written before this format (43 random characters) do not decode; the
 * store keeps their records until they expire, as before.
 */

export interface DescribedToken {
  familyId: string
  generation: number
  expiresAt: number
}

/** The length of every self-describing token; the older random tokens are 43 characters. */
export const DESCRIBED_TOKEN_CHARS = 48

const FAMILY_PREFIX = 'fam_'
const PAYLOAD_CHARS = 28
const MAC_CHARS = DESCRIBED_TOKEN_CHARS - PAYLOAD_CHARS
const MAC_DOMAIN = 'rl-rt2.'
const MAX_UINT48 = 2 ** 48 - 1
/** Encoding is synchronous, so one buffer serves every payload. */
const payload = Buffer.alloc(21)

/** The token of one generation of a family; undefined for anything this format cannot carry. */
export function encodeRefreshToken(key: Buffer, described: DescribedToken): string | undefined {
  const { familyId: id, generation, expiresAt } = described
  if (!id.startsWith(FAMILY_PREFIX) || id.length !== FAMILY_PREFIX.length + 12) return undefined
  if (!isUint48(generation) || !isUint48(expiresAt)) return undefined
  if (payload.write(id.slice(FAMILY_PREFIX.length), 0, 'base64url') !== 9) return undefined
  payload.writeUIntBE(generation, 9, 6)
  payload.writeUIntBE(expiresAt, 15, 6)
  const text = payload.toString('base64url')
  return text + macOf(key, text)
}

/** What a token says of itself, once its MAC checks out; undefined for anything else. */
export function decodeRefreshToken(key: Buffer, token: string): DescribedToken | undefined {
  if (token.length !== DESCRIBED_TOKEN_CHARS) return undefined
  const text = token.slice(0, PAYLOAD_CHARS)
  const bytes = Buffer.from(text, 'base64url')
  // Only the one canonical spelling: a payload that does not round-trip is not one we issued.
  if (bytes.length !== 21 || bytes.toString('base64url') !== text) return undefined
  const expected = Buffer.from(macOf(key, text))
  const presented = Buffer.from(token.slice(PAYLOAD_CHARS))
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined
  return {
    familyId: FAMILY_PREFIX + bytes.toString('base64url', 0, 9),
    generation: bytes.readUIntBE(9, 6),
    expiresAt: bytes.readUIntBE(15, 6),
  }
}

function macOf(key: Buffer, payloadText: string): string {
  return createHmac('sha256', key)
    .update(MAC_DOMAIN + payloadText)
    .digest('base64url')
    .slice(0, MAC_CHARS)
}

function isUint48(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_UINT48
}
