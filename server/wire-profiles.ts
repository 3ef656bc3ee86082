import type { LabError, ErrorEnvelope } from '../src/shared/errors.js'
import { wireCode, type Profile } from '../src/shared/profiles.js'
import type { UserAccount } from './config.js'
import type { IssuedTokens } from './auth-service.js'

export type TokenAnswerKind = 'signIn' | 'register' | 'refresh'

const GRIT_MESSAGES: Record<TokenAnswerKind, string> = {
  signIn: 'Login successful',
  register: 'Registration successful',
  refresh: 'Token refreshed',
}

/** The JSON body a profile answers with, and its status. */
export interface WireAnswer {
  status: number
  body: unknown
}

export interface WireProfile {
  readonly name: Profile
  tokens(issued: IssuedTokens, kind: TokenAnswerKind): WireAnswer
  error(error: LabError): WireAnswer
  signedOut(): WireAnswer
  me(user: UserAccount): WireAnswer
}

const userView = (user: UserAccount) => ({ id: user.id, email: user.email, name: user.name })

/** The lesson's default: `{"data":{"access_token","refresh_token","expires_in","token_type"}}`. */
const simple: WireProfile = {
  name: 'simple',
  tokens: (issued, kind) => ({
    status: kind === 'register' ? 201 : 200,
    body: {
      data: { access_token: issued.accessToken, refresh_token: issued.refreshToken, expires_in: issued.expiresIn, token_type: 'Bearer' },
    },
  }),
  error: (error) => ({ status: error.status, body: error.toEnvelope() }),
  signedOut: () => ({ status: 200, body: { data: { signed_out: true } } }),
  me: (user) => ({ status: 200, body: { data: userView(user) } }),
}

/**
 * The Grit framework's Go API, which the lesson's app talks to: tokens under `data.tokens` with
 * `expires_at` in Unix seconds, the user beside them on sign-in, a `message`, and Grit's fewer
 * error codes (token problems are INVALID_TOKEN, a reuse SESSION_REVOKED, bad input 422).
 */
const grit: WireProfile = {
  name: 'grit',
  tokens: (issued, kind) => {
    const tokens = { access_token: issued.accessToken, refresh_token: issued.refreshToken, expires_at: issued.expiresAt }
    const data = kind !== 'refresh' && issued.user ? { user: userView(issued.user), tokens } : { tokens }
    return { status: kind === 'register' ? 201 : 200, body: { data, message: GRIT_MESSAGES[kind] } }
  },
  error: (error) => {
    const envelope: ErrorEnvelope = { error: { code: wireCode('grit', error.code), message: error.message } }
    return { status: error.code === 'VALIDATION_ERROR' ? 422 : error.status, body: envelope }
  },
  signedOut: () => ({ status: 200, body: { message: 'Logged out successfully' } }),
  me: (user) => ({ status: 200, body: { data: userView(user) } }),
}

/** `supabase` keeps `/api/auth/*` simple: its GoTrue face is `server/routes/supabase.ts`, beside it. */
export function wireProfile(name: Profile): WireProfile {
  return name === 'grit' ? grit : simple
}
