/** What the server and its clients agree on over HTTP: paths and JSON shapes. */
import type { LiveSettings } from './settings.js'

export const ROUTES = {
  login: '/api/auth/login',
  register: '/api/auth/register',
  refresh: '/api/auth/refresh',
  logout: '/api/auth/logout',
  me: '/api/auth/me',
  users: '/api/users',
  echo: '/api/echo',
  oauthToken: '/oauth/token',
  oauthRevoke: '/oauth/revoke',
  oauthIntrospect: '/oauth/introspect',
  oauthAuthorize: '/oauth/authorize',
  oauthUserinfo: '/oauth/userinfo',
  oauthLogout: '/oauth/logout',
  discovery: '/.well-known/openid-configuration',
  oauthMetadata: '/.well-known/oauth-authorization-server',
  jwks: '/.well-known/jwks.json',
  labStats: '/_lab/stats',
  labEvents: '/_lab/events',
  labReset: '/_lab/reset',
  labClock: '/_lab/clock',
  labConfig: '/_lab/config',
  labFaults: '/_lab/faults',
  labRevoke: '/_lab/revoke',
  labExpire: '/_lab/expire',
  labSessions: '/_lab/sessions',
} as const

/** Supabase Auth (GoTrue) paths, served under `--profile supabase`, as supabase-js's auth client calls them. */
export const SUPABASE_ROUTES = {
  token: '/auth/v1/token',
  user: '/auth/v1/user',
  logout: '/auth/v1/logout',
  signup: '/auth/v1/signup',
} as const

/**
 * The live lab page (`server/lab-page/`): the page, the event stream that feeds it, and where its
 * compiled script is served. Apart from `ROUTES` because they are the browser's, not an API's.
 */
export const LAB_PAGE_ROUTES = {
  page: '/_lab/',
  eventStream: '/_lab/events/stream',
  /** The page's script and the modules it imports, at their paths under the package's `dist/`. */
  assets: '/_lab/ui/',
} as const

/** `POST /api/auth/login` and `POST /api/auth/refresh` answer `{ data: TokenPair }`. */
export interface TokenPair {
  access_token: string
  refresh_token: string
  /** Seconds until the access token expires, by the lab clock. */
  expires_in: number
  token_type: 'Bearer'
}

export interface DataEnvelope<T> {
  data: T
}

/** `GET /_lab/stats`: counters since the server started or was last reset. */
export interface LabStats {
  refresh: {
    calls: number
    succeeded: number
    rejected: number
    /** Rejections by error code, e.g. `{ "REFRESH_TOKEN_REUSED": 9 }`. */
    rejectedByCode: Record<string, number>
    /** Reuses of a rotated token inside the reuse grace, answered with the existing child. */
    graceReuses: number
    /** Calls answered by an injected fault (a status or a dropped connection) instead of the route. */
    faulted: number
  }
  /** Faults injected by `/_lab/faults`, by kind. */
  faults: { injected: number; delay: number; status: number; drop: number }
  /** Lab control actions since the last reset (the runner's own setup calls count too). */
  lab: { clockMoves: number; expiries: number; revocations: number; configChanges: number }
  logins: number
  reuseDetected: number
  familiesRevoked: number
  /** What the server holds now: sessions and refresh-token records (swept an hour after they end). */
  store?: { families: number; tokens: number }
  /** Requests by route (`"GET /api/users"`) and status (`"200"`, or `"dropped"` for an injected drop); `/_lab` calls are not counted. */
  requests: Record<string, Record<string, number>>
}

export type LabEventType =
  | 'login'
  | 'refresh'
  | 'reuse_detected'
  | 'logout'
  | 'request'
  | 'fault'
  | 'clock'
  | 'config'
  | 'revoke'
  | 'expire'
  | 'reset'

/** One entry of `GET /_lab/events`, numbered from 1 in the order the server handled it. */
export interface LabEvent {
  id: number
  /** ISO time by the lab clock. */
  at: string
  type: LabEventType
  route?: string
  status?: number
  code?: string
  user?: string
  family?: string
  generation?: number
  detail?: string
  /**
   * For a `request`: when the server received the call and when it answered it, in milliseconds on
   * the server's monotonic clock (since the server process started, fractional). For drawing calls
   * against each other (the lab page's time axis); not a wall time, and not moved by the lab clock.
   */
  startMs?: number
  endMs?: number
}

export interface LabEventsPage {
  events: LabEvent[]
  /** The id of the newest event, to pass as `?after=` next time. */
  lastId: number
  /** Events that fell out of the ring buffer before this read. */
  dropped: number
}

/** `GET /_lab/clock` and the answer to `POST /_lab/clock`. */
export interface LabClockState {
  now: string
  nowMs: number
  offsetMs: number
}

/** `GET /_lab/config`: the settings in force, durations in milliseconds. */
export interface LabConfigView extends LiveSettings {
  profile: 'simple' | 'grit' | 'supabase'
  alg: string
  issuer: string
  users: string[]
}

/** One session (refresh-token family) in `GET /_lab/sessions`; times are ISO by the lab clock. */
export interface LabSession {
  id: string
  user: string
  status: 'active' | 'revoked'
  /** The generation of the newest refresh token; the login token is 1. */
  generation: number
  createdAt: string
  expiresAt: string
  revokedAt?: string
  revokedReason?: 'reuse' | 'logout' | 'lab'
}
