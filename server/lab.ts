import { pickLiveSettings, type LiveSettings } from '../src/shared/settings.js'
import type { LabConfigView } from '../src/shared/wire.js'
import { AccessExpiryMarks } from './access-expiry.js'
import { AuthorizationCodes } from './authorization-codes.js'
import { LabClock } from './clock.js'
import type { ServerConfig } from './config.js'
import { DomainEvents, type ExpiryMark, type LabDomainEvent, type LabDomainEventType, type SessionScope } from './domain-events.js'
import { EventLog } from './events.js'
import { FaultTable, type Fault, type FaultSpec } from './faults.js'
import { loadSigningKeys } from './keys.js'
import { Persistence, type PersistedState } from './persistence.js'
import { LabCounters } from './stats.js'
import { RefreshStore, type Family, type RevokeReason } from './store.js'
import { AccessTokens } from './tokens.js'
import { UserRegistry } from './users.js'

export type { SessionScope } from './domain-events.js'

/** Settings the lab may change while running (the `live` ones of src/shared/settings.ts). */
export type { LiveSettings } from '../src/shared/settings.js'

/** How the lab clock is moved: forward by a duration, or to an instant. */
export type ClockMove = { advanceMs: number } | { toMs: number }

/**
 * One running lab, composed of small parts: settings, clock, store, access tokens, users, early
 * expiries, faults, and the read side (counters and event log) that follows its domain events.
 * Its actions make a change and emit one event (server/domain-events.ts); nothing here counts or
 * logs by hand.
 */
export interface Lab {
  readonly config: ServerConfig
  readonly settings: LiveSettings
  readonly clock: LabClock
  readonly store: RefreshStore
  readonly tokens: AccessTokens
  readonly users: UserRegistry
  /** Access tokens the lab expired early (`/_lab/expire`). */
  readonly expiry: AccessExpiryMarks
  readonly faults: FaultTable
  /** Authorization codes of the code flow (`/oauth/authorize`), until redeemed and a while after. */
  readonly codes: AuthorizationCodes
  /** What `GET /_lab/stats` reads; it follows the domain events. */
  readonly counters: LabCounters
  /** What `GET /_lab/events` and the lab page's stream read; it follows the domain events. */
  readonly events: EventLog
  /**
   * Counts resets. A request that began before the latest reset (held by a delay, say) must not
   * count or act after it, or it would leak into the next test.
   */
  readonly epoch: number
  /** Announces a change made outside the lab's own actions: a request answered, a fault taken, a sign-in, settings changed. */
  emit(event: LabDomainEvent): void
  /** The next event of a type (or a reset), or undefined after `withinMs` (see DomainEvents.next). */
  nextEvent(type: LabDomainEventType, withinMs: number): Promise<LabDomainEvent | undefined>
  /** Revokes a family (`familyRevoked`); false when it was unknown or revoked already. */
  revokeFamily(familyId: string, reason: RevokeReason): boolean
  /** `POST /_lab/revoke`: revokes every session in the scope; returns how many were active. */
  revokeSessions(scope: SessionScope): number
  /** The families a scope names; an unknown user or family is an empty list. */
  familiesIn(scope: SessionScope): Family[]
  /** `POST /_lab/expire`: makes the scope's access tokens, refresh tokens or both expire now. */
  expire(scope: SessionScope, tokens: 'access' | 'refresh' | 'both'): { access: number; refresh: number }
  /** `POST /_lab/clock`: moves the clock; answers the time it moved to. A RangeError for an impossible move. */
  moveClock(move: ClockMove): { nowMs: number; offsetMs: number }
  /** `POST /_lab/faults`: sets a fault for the next calls of a route. */
  setFault(spec: FaultSpec): Fault
  /** `POST /_lab/config`: changes live settings; answers the settings now in force. */
  configure(patch: Partial<LiveSettings>): LabConfigView
  /** Forgets sessions and tokens that can no longer matter (see RefreshStore.sweep). */
  sweep(): number
  configView(): LabConfigView
  /** Resolves once keys are loaded and, with --data-dir, the recovered state is written back. */
  readonly ready: Promise<void>
  /** With --data-dir: flushes and closes the journal. */
  close(): void
  /** Back to a fresh start: no sessions, faults or early expiries, zero counters, empty log, real time, startup settings and users. */
  reset(): void
}

export function createLab(config: ServerConfig): Lab {
  const startupSettings = (): LiveSettings => pickLiveSettings(config)
  const settings = startupSettings()
  const clock = new LabClock()
  const bus = new DomainEvents()
  // --data-dir: what survives a restart comes back before anything else is built on it.
  const persistence = new Persistence(config)
  const { refreshKey, secret, privateJwk } = persistence.keys
  const store = new RefreshStore(settings, refreshKey)
  const keys = loadSigningKeys({
    alg: config.alg,
    secret,
    ...(config.keyFile === undefined ? {} : { keyFile: config.keyFile }),
    ...(privateJwk === undefined ? {} : { privateJwk }),
  })
  const tokens = new AccessTokens(keys, config.audience, config.issuer)
  const users = new UserRegistry(config.users, bus, settings)
  const expiry = new AccessExpiryMarks()
  const faults = new FaultTable()
  const codes = new AuthorizationCodes()
  const state: PersistedState = { store, users, clock, tokens, expiry }
  persistence.recover(state)

  // The read side and the journal follow the domain events, in this order.
  const counters = new LabCounters()
  const events = new EventLog(config.eventLogSize, clock, config.maxEventStreams)
  bus.subscribe((event) => counters.count(event))
  bus.subscribe((event) => events.follow(event))
  bus.subscribe((event) => persistence.follow(event, state))

  const ready = keys.then((loaded) => persistence.start(state, loaded))
  ready.catch(() => undefined) // reported where startServer awaits it
  let epoch = 0
  const familiesIn = (scope: SessionScope): Family[] => {
    if (scope.family !== undefined) {
      const family = store.family(scope.family)
      return family ? [family] : []
    }
    if (scope.user !== undefined) {
      const user = users.find(scope.user)
      return user ? store.families(user.id) : []
    }
    return store.families()
  }
  const revokeFamily = (familyId: string, reason: RevokeReason): boolean => {
    if (!store.revokeFamily(familyId, reason, clock.now())) return false
    bus.emit({ type: 'familyRevoked', family: familyId, reason })
    return true
  }
  const configView = (): LabConfigView => ({
    ...settings,
    profile: config.profile,
    alg: config.alg,
    issuer: tokens.issuer,
    users: users.list().map((u) => u.email),
  })
  return {
    get epoch() {
      return epoch
    },
    config,
    settings,
    clock,
    store,
    tokens,
    users,
    expiry,
    faults,
    codes,
    counters,
    events,
    emit: (event) => bus.emit(event),
    nextEvent: (type, withinMs) => bus.next(type, withinMs),
    ready,
    close() {
      events.closeSubscribers()
      persistence.close()
    },
    revokeFamily,
    revokeSessions(scope) {
      const count = familiesIn(scope).filter((family) => revokeFamily(family.id, 'lab')).length
      bus.emit({ type: 'sessionsRevoked', count, scope })
      return count
    },
    familiesIn,
    expire(scope, which) {
      const all = scope.user === undefined && scope.family === undefined
      const families = all ? undefined : familiesIn(scope).map((family) => family.id)
      const expired = { access: 0, refresh: 0 }
      let marks: ExpiryMark[] = []
      if (which !== 'refresh') {
        marks = expiry.expire(tokens.lastSerial, families)
        expired.access = families?.length ?? store.families().length
      }
      if (which !== 'access') expired.refresh = store.expireRefreshTokens(clock.now(), families && new Set(families))
      bus.emit({ type: 'tokensExpired', tokens: which, scope, marks })
      return expired
    },
    moveClock(move) {
      if ('advanceMs' in move) clock.advance(move.advanceMs)
      else clock.set(move.toMs)
      const moved = { nowMs: clock.now(), offsetMs: clock.offsetMs }
      bus.emit({ type: 'clockMoved', now: moved.nowMs, offsetMs: moved.offsetMs })
      return moved
    },
    setFault(spec) {
      const fault = faults.add(spec)
      bus.emit({ type: 'faultSet', fault })
      return fault
    },
    sweep() {
      const swept = store.sweep(clock.now())
      expiry.sweep((id) => store.family(id) !== undefined)
      persistence.compactIfDue(state)
      return swept
    },
    configure(patch) {
      Object.assign(settings, patch)
      const view = configView()
      bus.emit({ type: 'configChanged', config: view })
      return view
    },
    configView,
    reset() {
      epoch += 1
      Object.assign(settings, startupSettings())
      store.clear()
      faults.clear()
      codes.clear()
      clock.reset()
      expiry.clear()
      users.reset()
      // Zeroes the counters, empties the log (whose first entry is this reset) and compacts the journal.
      bus.emit({ type: 'reset' })
    },
  }
}
