/**
 * Wire profiles: the shape a backend's auth API answers in. The server speaks one; the harness
 * and the clients read any of them. Internally every error keeps refresh-lab's own code (stats and
 * events use it); `wireCode` is what a profile puts on the wire instead.
 */
export const PROFILES = ['simple', 'grit', 'supabase'] as const

/** The `grant_type` of a token request's body, sent as a form (RFC 6749) or as JSON (as Auth0 takes it). */
export function grantTypeOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { grant_type?: unknown } | null)?.grant_type
  } catch {
    return new URLSearchParams(body).get('grant_type')
  }
}
export type Profile = (typeof PROFILES)[number]

/** Grit's API knows fewer codes: token problems are INVALID_TOKEN, a reuse is SESSION_REVOKED. */
const GRIT_CODES: Readonly<Record<string, string>> = {
  TOKEN_EXPIRED: 'INVALID_TOKEN',
  TOKEN_REVOKED: 'INVALID_TOKEN',
  INVALID_REFRESH_TOKEN: 'INVALID_TOKEN',
  REFRESH_TOKEN_EXPIRED: 'INVALID_TOKEN',
  REFRESH_TOKEN_REVOKED: 'INVALID_TOKEN',
  REFRESH_TOKEN_REUSED: 'SESSION_REVOKED',
}

export function wireCode(profile: Profile, code: string): string {
  return profile === 'grit' ? (GRIT_CODES[code] ?? code) : code
}

/** The tokens in a login or refresh answer of any profile: `data.access_token` or `data.tokens.access_token`. */
export function tokensFromAnswer(
  body: unknown,
): { accessToken: string; refreshToken: string; expiresIn?: number; expiresAt?: number } | undefined {
  const data = (body as { data?: Record<string, unknown> } | null)?.data
  const tokens = (data?.['tokens'] ?? data) as Record<string, unknown> | undefined
  if (typeof tokens?.['access_token'] !== 'string' || typeof tokens['refresh_token'] !== 'string') return undefined
  return {
    accessToken: tokens['access_token'],
    refreshToken: tokens['refresh_token'],
    ...(typeof tokens['expires_in'] === 'number' ? { expiresIn: tokens['expires_in'] } : {}),
    ...(typeof tokens['expires_at'] === 'number' ? { expiresAt: tokens['expires_at'] } : {}),
  }
}
