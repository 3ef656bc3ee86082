import { describe, expect, it } from 'vitest'
import { LabError } from '../src/shared/errors.js'
import { wireProfile } from './wire-profiles.js'
import type { IssuedTokens } from './auth-service.js'

/** The wire profiles' mapping alone, without the app (the routes through it: `routes/auth-profiles.test.ts`). */
// No family: the profiles never read it.
const issued = {
  accessToken: 'a.b.c',
  refreshToken: 'r1',
  expiresIn: 900,
  expiresAt: 1_800_000_900,
  user: { id: 'usr_1', email: 'demo@example.com', name: 'demo', password: 'password' },
} as unknown as IssuedTokens

describe('wireProfile', () => {
  it('simple: the envelope and status of the LabError as thrown', () => {
    const simple = wireProfile('simple')
    expect(simple.error(new LabError('REFRESH_TOKEN_REUSED', 'spent twice'))).toEqual({
      status: 401,
      body: { error: { code: 'REFRESH_TOKEN_REUSED', message: 'spent twice' } },
    })
    expect(simple.error(new LabError('VALIDATION_ERROR', 'not JSON', 400)).status).toBe(400)
    expect(simple.tokens(issued, 'register')).toEqual({
      status: 201,
      body: { data: { access_token: 'a.b.c', refresh_token: 'r1', expires_in: 900, token_type: 'Bearer' } },
    })
  })

  it("grit: Grit's codes, 422 for any validation error, tokens under data.tokens with the user only on sign-in", () => {
    const grit = wireProfile('grit')
    expect(grit.error(new LabError('REFRESH_TOKEN_REUSED', 'spent twice'))).toEqual({
      status: 401,
      body: { error: { code: 'SESSION_REVOKED', message: 'spent twice' } },
    })
    expect(grit.error(new LabError('VALIDATION_ERROR', 'not JSON', 400)).status).toBe(422)
    expect(grit.tokens(issued, 'signIn').body).toMatchObject({
      data: { user: { id: 'usr_1' }, tokens: { expires_at: 1_800_000_900 } },
      message: 'Login successful',
    })
    expect(grit.tokens(issued, 'refresh').body).toEqual({
      data: { tokens: { access_token: 'a.b.c', refresh_token: 'r1', expires_at: 1_800_000_900 } },
      message: 'Token refreshed',
    })
  })
})
