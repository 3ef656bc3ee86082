import { ERROR_CODES } from '../shared/errors.js'
import { tokensFromAnswer } from '../shared/profiles.js'
import type { LiveSettingsInput } from '../shared/settings.js'
import type { LabClockState, LabConfigView, LabEventsPage, LabSession, LabStats } from '../shared/wire.js'
import { ROUTES } from '../shared/wire.js'
import { HarnessError } from './errors.js'
import { describeFetchError, runtimeAgentClass } from './recording-fetch.js'

/** A session the harness signed in, in any wire profile. */
export interface SignedIn {
  accessToken: string
  refreshToken: string
  /** How long the access token lives from now, by the lab clock. */
  expiresInMs: number
}

/** How LabApi sends a call: by default the global `fetch`; `createLab` gives its in-process handler. */
export type LabSend = (url: string, init: RequestInit) => Promise<Response>

/**
 * The harness's side channel to a lab server: sign in, read the counters, move the clock. It
 * speaks plain HTTP, so the harness can drive any refresh-lab server, embedded or not, or (given
 * `send`) a lab with no socket at all.
 */
export class LabApi {
  // Its own small pool, closed by `close()`, so no idle socket keeps the CLI's process alive;
  // made on the first call, and never when calls go to an in-process handler.
  #dispatcher: InstanceType<ReturnType<typeof runtimeAgentClass>> | undefined
  readonly #send: LabSend

  /** `labToken`: for a server started with `--lab-token` (off loopback it always is). */
  constructor(
    readonly baseUrl: string,
    private readonly labToken: string | undefined = process.env['REFRESH_LAB_TOKEN'],
    send?: LabSend,
  ) {
    this.#send =
      send ??
      ((url, init) => {
        this.#dispatcher ??= new (runtimeAgentClass())({ connections: 2 })
        return fetch(url, { ...init, dispatcher: this.#dispatcher } as unknown as RequestInit)
      })
  }

  async close(): Promise<void> {
    await this.#dispatcher?.close()
  }

  /** Signs in through the wire profile's login route, whichever shape it answers in. */
  async login(email: string, password: string): Promise<SignedIn> {
    const answer = await this.#call<unknown>('POST', ROUTES.login, { email, password })
    const tokens = tokensFromAnswer(answer)
    if (!tokens) throw new HarnessError('unreachable', `${this.baseUrl}${ROUTES.login} answered without tokens under data`)
    const expiresInMs =
      tokens.expiresIn !== undefined
        ? tokens.expiresIn * 1000
        : tokens.expiresAt !== undefined
          ? tokens.expiresAt * 1000 - (await this.clock()).nowMs
          : 0
    return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresInMs }
  }

  clock(): Promise<LabClockState> {
    return this.#call<LabClockState>('GET', ROUTES.labClock)
  }

  config(): Promise<LabConfigView> {
    return this.#call<LabConfigView>('GET', ROUTES.labConfig)
  }

  stats(): Promise<LabStats> {
    return this.#call<LabStats>('GET', ROUTES.labStats)
  }

  advanceClock(ms: number): Promise<LabClockState> {
    return this.#call<LabClockState>('POST', ROUTES.labClock, { advance: `${ms}ms` })
  }

  setClock(to: string | number): Promise<LabClockState> {
    return this.#call<LabClockState>('POST', ROUTES.labClock, { set: to })
  }

  events(after = 0): Promise<LabEventsPage> {
    return this.#call<LabEventsPage>('GET', `${ROUTES.labEvents}?after=${after}`)
  }

  /** The sessions (refresh families) the server holds, or just one. */
  async sessions(family?: string): Promise<LabSession[]> {
    const query = family === undefined ? '' : `?family=${encodeURIComponent(family)}`
    return (await this.#call<{ sessions: LabSession[] }>('GET', `${ROUTES.labSessions}${query}`)).sessions
  }

  reset(): Promise<unknown> {
    return this.#call('POST', ROUTES.labReset)
  }

  /** Changes settings live; durations as strings such as `"30s"`. */
  configure(patch: LiveSettingsInput): Promise<LabConfigView> {
    return this.#call<LabConfigView>('POST', ROUTES.labConfig, patch)
  }

  /** Sets a fault, in the shape `POST /_lab/faults` takes. */
  fault(spec: Record<string, unknown>): Promise<unknown> {
    return this.#call('POST', ROUTES.labFaults, spec)
  }

  revoke(scope: { user?: string; family?: string } = {}): Promise<{ revoked: number }> {
    return this.#call('POST', ROUTES.labRevoke, scope)
  }

  expire(
    spec: { tokens?: 'access' | 'refresh' | 'both'; user?: string; family?: string } = {},
  ): Promise<{ sessions: number; refreshTokens: number }> {
    return this.#call('POST', ROUTES.labExpire, spec)
  }

  /** Signs a session out as an app's logout button does. */
  logout(accessToken: string): Promise<unknown> {
    return this.#call('POST', ROUTES.logout, undefined, { authorization: `Bearer ${accessToken}` })
  }

  async #call<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const headers =
      path.startsWith('/_lab/') && this.labToken !== undefined
        ? { ...extraHeaders, authorization: `Bearer ${this.labToken}` }
        : extraHeaders
    let response: Response
    try {
      response = await this.#send(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      })
    } catch (error) {
      const reason = error instanceof Error ? describeFetchError(error) : String(error)
      throw new HarnessError('unreachable', `cannot reach ${this.baseUrl} (${reason}); is \`refresh-lab serve\` running there?`, {
        cause: error,
      })
    }
    const text = await response.text()
    let json: unknown = null
    try {
      json = JSON.parse(text)
    } catch {
      // handled below: a lab server always answers JSON
    }
    const envelope = json as { error?: { code?: unknown } } | null
    const isLabAnswer = json !== null && (response.ok || typeof envelope?.error?.code === 'string')
    const code = envelope?.error?.code
    if (code === ERROR_CODES.LAB_TOKEN_REQUIRED) {
      throw new HarnessError('usage', `${this.baseUrl} guards its lab API with a token: give --lab-token or set REFRESH_LAB_TOKEN`)
    }
    // A 404 for the route itself (not for a user or session it names) means an older or other server.
    if (!isLabAnswer || code === ERROR_CODES.ROUTE_NOT_FOUND || isOldNoRouteAnswer(envelope)) {
      throw new HarnessError(
        'unreachable',
        `${this.baseUrl} does not answer like refresh-lab (${method} ${path} gave HTTP ${response.status}); point --url at \`refresh-lab serve\``,
      )
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error
      const detail = error ? `${error.code}: ${error.message}` : `HTTP ${response.status}`
      throw new HarnessError('usage', `${method} ${path} failed (${detail})`)
    }
    return json as T
  }
}

/**
 * refresh-lab 0.1 answered NOT_FOUND both for an unknown route and for an unknown user or session;
 * only its message, "no route …", told them apart. Servers since answer ROUTE_NOT_FOUND.
 */
function isOldNoRouteAnswer(envelope: { error?: { code?: unknown; message?: unknown } } | null): boolean {
  return envelope?.error?.code === ERROR_CODES.NOT_FOUND && String(envelope.error.message).startsWith('no route')
}
