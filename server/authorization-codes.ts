import { randomBase64url } from './random.js'

/** What an authorization code stands for, until the token endpoint redeems it once. */
export interface CodeGrant {
  readonly clientId: string
  readonly redirectUri: string
  /** The S256 PKCE challenge (RFC 7636 §4.2). */
  readonly codeChallenge: string
  readonly userId: string
  readonly scope?: string
  readonly nonce?: string
  /** When the user signed in, in real time (as an ID token's `iat`): its session's `auth_time`. */
  readonly authTime: number
  readonly expiresAt: number
  /** Set when redeemed: the session it started, which a second redemption revokes (RFC 6749 §4.1.2). */
  redeemedFamily?: string
  redeemed: boolean
}

/** How long a code lives, by the lab clock: RFC 6749 §4.1.2 recommends at most 10 minutes. */
export const CODE_TTL_MS = 10 * 60_000

/** How many codes the lab remembers; the oldest go first, so a loop of authorizations stays bounded. */
const MAX_CODES = 10_000

/**
 * Authorization codes in memory, never persisted (a restart in the middle of a sign-in restarts the
 * sign-in). Redeemed codes are kept until they expire, so a reuse is recognised and its session revoked.
 */
export class AuthorizationCodes {
  readonly #codes = new Map<string, CodeGrant>()

  issue(grant: Omit<CodeGrant, 'redeemed' | 'redeemedFamily'>): string {
    if (this.#codes.size >= MAX_CODES) this.#codes.delete(this.#codes.keys().next().value as string)
    const code = randomBase64url(32)
    this.#codes.set(code, { ...grant, redeemed: false })
    return code
  }

  /** The grant behind a code, redeemed or not; undefined when unknown. */
  find(code: string): CodeGrant | undefined {
    return this.#codes.get(code)
  }

  clear(): void {
    this.#codes.clear()
  }
}
