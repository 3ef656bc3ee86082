import { LabApi } from './harness/lab-api.js'
import { parseDuration } from './shared/duration.js'
import type { LiveSettingsInput, SettingsInput } from './shared/settings.js'
import type { LabClockState, LabConfigView, LabEventsPage, LabSession, LabStats } from './shared/wire.js'

/**
 * The same settings as `refresh-lab serve`, as values, by the names of `SETTINGS`
 * (src/shared/settings.ts): durations as strings such as `'30s'`, `users` as `email:password`
 * strings. `port` defaults to 0 here, a free port, so parallel test files never collide.
 */
export type LabOptions = SettingsInput

/** A fault for the next `times` calls of a path: a delay, an answer with a status, or a dropped connection. */
export interface FaultOptions {
  path: string
  method?: string
  times?: number
  delay?: string
  status?: number
  code?: string
  message?: string
  /** Drop the connection before the route runs. */
  drop?: boolean
  /** Let the route run (a refresh rotates), then drop the connection without its answer. */
  dropAfter?: boolean
}

/** The lab's control, typed: what `startLab`'s result and `createLab`'s `lab` both offer. */
export interface LabControls {
  /** The virtual clock every expiry reads: advance it instead of sleeping. */
  readonly clock: {
    advance(by: string | number): Promise<LabClockState>
    set(to: string | number | Date): Promise<LabClockState>
    now(): Promise<LabClockState>
  }
  stats(): Promise<LabStats>
  events(after?: number): Promise<LabEventsPage>
  sessions(): Promise<LabSession[]>
  /** Back to a fresh start: no sessions, faults or counts, real time, startup settings. */
  reset(): Promise<void>
  /** Expires the access tokens issued so far (or the refresh tokens, or both). */
  expire(what?: { tokens?: 'access' | 'refresh' | 'both'; user?: string; family?: string }): Promise<void>
  fault(fault: FaultOptions): Promise<void>
  /** Revokes every session, or a user's, or one family; resolves with how many. */
  revoke(scope?: { user?: string; family?: string }): Promise<number>
  /** Changes live settings (any of `LIVE_SETTING_NAMES`); `reset()` restores the startup ones. */
  configure(settings: LiveSettingsInput): Promise<LabConfigView>
}

export interface RunningLab extends LabControls {
  /** Base URL, e.g. `http://127.0.0.1:41234`: point your client here. */
  readonly url: string
  /** Closes the server; idempotent. */
  stop(): Promise<void>
}

/**
 * The typed control over a lab's HTTP API (`/_lab/*`), written once for `startLab` (over a socket)
 * and `createLab` (through its in-process handler): the difference is only how `api` sends.
 */
export function labControls(api: LabApi): LabControls {
  return {
    clock: {
      advance: (by) => api.advanceClock(typeof by === 'number' ? by : parseDuration(by)),
      set: (to) => api.setClock(to instanceof Date ? to.toISOString() : to),
      now: () => api.clock(),
    },
    stats: () => api.stats(),
    events: (after) => api.events(after),
    sessions: () => api.sessions(),
    reset: async () => {
      await api.reset()
    },
    expire: async (what = {}) => {
      await api.expire(what)
    },
    fault: async (fault) => {
      await api.fault({ ...fault })
    },
    revoke: async (scope = {}) => (await api.revoke(scope)).revoked,
    configure: (settings) => api.configure(settings),
  }
}

/**
 * Starts a refresh-lab server in your test process, on a free loopback port.
 *
 * @example
 * let lab: RunningLab
 * beforeAll(async () => { lab = await startLab({ accessTtl: '30s' }) })
 * afterAll(() => lab.stop())
 * it('refreshes once', async () => {
 *   await lab.clock.advance('35s')
 *   // … drive your client against lab.url …
 *   expect((await lab.stats()).refresh.calls).toBe(1)
 * })
 */
export async function startLab(options: LabOptions = {}): Promise<RunningLab> {
  const [{ resolveServerConfig }, { startServer }] = await Promise.all([import('../server/config.js'), import('../server/start.js')])
  const server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: 0, ...options }, {}))
  const api = new LabApi(server.url, options.labToken)
  let stopped: Promise<void> | undefined
  return {
    url: server.url,
    stop: () => (stopped ??= api.close().then(() => server.close())),
    ...labControls(api),
  }
}
