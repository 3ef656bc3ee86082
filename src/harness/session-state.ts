import type { StoredTokens } from '../client/contract.js'
import type { LabApi } from './lab-api.js'

/**
 * Where a client ended up, judged from both sides: `signed-out` when it holds no tokens,
 * `revoked` when it holds tokens whose session the server revoked (it thinks it is signed in,
 * but its next refresh will fail), `active` when the session is alive.
 */
export type SessionState = 'active' | 'revoked' | 'signed-out' | 'unknown'

export interface ClientSession {
  state: SessionState
  /** Why the server revoked it: `reuse`, `logout` or `lab`. */
  revokedReason?: string
}

export async function clientSession(api: LabApi, tokens: StoredTokens): Promise<ClientSession> {
  if (tokens.accessToken === null || tokens.refreshToken === null) return { state: 'signed-out' }
  const sid = sessionIdOf(tokens.accessToken)
  if (sid === undefined) return { state: 'unknown' }
  const [session] = await api.sessions(sid)
  if (!session) return { state: 'unknown' }
  if (session.status === 'active') return { state: 'active' }
  return { state: 'revoked', ...(session.revokedReason === undefined ? {} : { revokedReason: session.revokedReason }) }
}

/** Whether a client is still signed in: `yes`, or why not (it signed out, or its session is dead on the server). */
export function describeSignedIn(loggedOut: boolean, session: ClientSession): string {
  if (loggedOut) return 'no, signed out'
  if (session.state === 'revoked') return `no, session revoked on the server (${session.revokedReason ?? 'unknown'})`
  if (session.state !== 'active') return `no, session ${session.state}`
  return 'yes'
}

/** The `sid` claim of a JWT, read without verifying it: the server has already done that. */
function sessionIdOf(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown }
    return typeof payload.sid === 'string' ? payload.sid : undefined
  } catch {
    return undefined
  }
}
