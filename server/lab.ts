import { pickLiveSettings, type LiveSettings } from '../src/shared/settings.js'
import type { LabConfigView, LabStats } from '../src/shared/wire.js'
import { AccessExpiryMarks } from './access-expiry.js'
import { AuthorizationCodes } from './authorization-codes.js'
import { LabClock } from './clock.js'
import type { ServerConfig } from './config.js'
import { DomainEvents, type ExpiryMark, type LabDomainEvent, type SessionScope } from './domain-events.js'
import { EventLog, type LabEventLog } from './events.js'
import { ClusterState } from './redis-shared.js'
import { FaultTable, type Fault, type FaultSpec } from './faults.js'
import { loadSigningKeys } from './keys.js'
import { Persistence, type PersistedState } from './persistence.js'
import { RefreshWatch } from './refresh-watch.js'
import { LabCounters } from './stats.js'
import { loadSharedSigningKeys, RedisLink, RedisStore, sharedSecret } from './redis-store.js'
import { andThen, RefreshStore, type Family, type MaybePromise, type RevokeReason, type SessionStore } from './store.js'
import { AccessTokens } from './tokens.js'
import { randomBase64url } from './random.js'
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
  /** Sessions: in this process (synchronous) or, with `--store redis://…`, shared by every instance (promises). */
  readonly store: SessionStore
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
  readonly events: LabEventLog
  /** `GET /_lab/stats`: this process's counters, or with a Redis store the cluster's. */
  stats(): MaybePromise<LabStats>
  /** With a Redis store: resolves once the shared writes (counters, event log) made so far have landed. */
  settled(): Promise<unknown> | undefined
  /**
   * Counts resets. A request that began before the latest reset (held by a delay, say) must not
   * count or act after it, or it would leak into the next test.
   */
  readonly epoch: number
  /** Announces a change made outside the lab's own actions: a request answered, a fault taken, a sign-in, settings changed. */
  emit(event: LabDomainEvent): void
  /** Resolves once a session has refreshed since an access token was signed (see RefreshWatch), or after `withinMs`. */
  refreshedSince(family: string, serial: number, withinMs: number): Promise<void>
  /** Revokes a family (`familyRevoked`); false when it was unknown or revoked already. */
  revokeFamily(familyId: string, reason: RevokeReason): MaybePromise<boolean>
  /** `POST /_lab/revoke`: revokes every session in the scope; returns how many were active. */
  revokeSessions(scope: SessionScope): MaybePromise<number>
  /** The families a scope names; an unknown user or family is an empty list. */
  familiesIn(scope: SessionScope): MaybePromise<Family[]>
  /** `POST /_lab/expire`: makes the scope's access tokens, refresh tokens or both expire now. */
  expire(scope: SessionScope, tokens: 'access' | 'refresh' | 'both'): MaybePromise<{ access: number; refresh: number }>
  /** `POST /_lab/clock`: moves the clock; answers the time it moved to. A RangeError for an impossible move. */
  moveClock(move: ClockMove): { nowMs: number; offsetMs: number }
  /** `POST /_lab/faults`: sets a fault for the next calls of a route. */
  setFault(spec: FaultSpec): Fault
  /** `POST /_lab/config`: changes live settings; answers the settings now in force. */
  configure(patch: Partial<LiveSettings>): MaybePromise<LabConfigView>
  /** Forgets sessions and tokens that can no longer matter (see RefreshStore.sweep). */
  sweep(): MaybePromise<number>
  configView(): LabConfigView
  /** Resolves once keys are loaded and, with --data-dir, the recovered state is written back. */
  readonly ready: Promise<void>
  /** With --data-dir: flushes and closes the journal. */
  close(): void
  /** Back to a fresh start: no sessions, faults or early expiries, zero counters, empty log, real time, startup settings and users. */
  reset(): MaybePromise<void>
}

export function createLab(config: ServerConfig): Lab {
  const startupSettings = (): LiveSettings => pickLiveSettings(config)
  const settings = startupSettings()
  const clock = new LabClock()
  const bus = new DomainEvents()
  // --data-dir: what survives a restart comes back before anything else is built on it.
  const persistence = new Persistence(config)
  const { refreshKey, secret, privateJwk } = persistence.keys
  // --store redis://…: the sessions, the refresh key and a random HS256 secret are the cluster's.
  const link = config.store === 'memory' ? undefined : new RedisLink(config.store)
  const memoryStore = link ? undefined : new RefreshStore(settings, refreshKey)
  const redisStore = link ? new RedisStore(link, settings) : undefined
  const store: SessionStore = (memoryStore ?? redisStore) as SessionStore
  const shared =
    link && redisStore
      ? link
          .start()
          .then(() => redisStore.loadKey())
          .then(() => link.joinSettings(settings))
          .then(() => cluster?.start())
          .then(() => sharedSecret(link, config))
      : undefined
  const keyOptions = {
    alg: config.alg,
    ...(config.keyFile === undefined ? {} : { keyFile: config.keyFile }),
    ...(privateJwk === undefined ? {} : { privateJwk }),
  }
  const keys = shared
    ? shared.then((cluster) => loadSharedSigningKeys(link as RedisLink, { ...keyOptions, secret: cluster ?? secret }))
    : loadSigningKeys({ ...keyOptions, secret })
  const tokens = new AccessTokens(keys, config.audience, config.issuer)
  const users = new UserRegistry(config.users, bus, settings, ...(link ? [() => `usr_${randomBase64url(6)}`] : []))
  const cluster =
    link && new ClusterState(link, { clock, settings, users, capacity: config.eventLogSize, maxSubscribers: config.maxEventStreams })
  const expiry = new AccessExpiryMarks()
  const faults = new FaultTable()
  const codes = new AuthorizationCodes()
  const state: PersistedState | undefined = memoryStore && { store: memoryStore, users, clock, tokens, expiry }
  if (state) persistence.recover(state)

  // The read side and the journal follow the domain events, in this order.
  const counters = new LabCounters()
  bus.subscribe((event) => counters.count(event))
  // With a Redis store the counters, the log and the bus are the cluster's; this process still counts its own.
  const local = cluster ? undefined : new EventLog(config.eventLogSize, clock, config.maxEventStreams)
  if (local) bus.subscribe((event) => local.follow(event))
  if (cluster) bus.subscribe((event) => cluster.follow(event))
  const events: LabEventLog = local ?? (cluster as ClusterState).events
  if (state) bus.subscribe((event) => persistence.follow(event, state))
  const refreshes = new RefreshWatch(() => tokens.lastSerial)
  bus.subscribe((event) => refreshes.follow(event))

  const ready = keys.then((loaded) => (state ? persistence.start(state, loaded) : undefined))
  ready.catch(() => undefined) // reported where startServer awaits it
  let epoch = 0
  const familiesIn = (scope: SessionScope): MaybePromise<Family[]> => {
    if (scope.family !== undefined) return andThen(store.family(scope.family), (family) => (family ? [family] : []))
    if (scope.user !== undefined) {
      const user = users.find(scope.user)
      return user ? store.families(user.id) : []
    }
    return store.families()
  }
  const revokeFamily = (familyId: string, reason: RevokeReason): MaybePromise<boolean> =>
    andThen(store.revokeFamily(familyId, reason, clock.now()), (revoked) => {
      if (revoked) bus.emit({ type: 'familyRevoked', family: familyId, reason })
      return revoked
    })
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
    stats: () => cluster?.stats() ?? counters.snapshot(),
    settled: () => cluster?.settled(),
    emit: (event) => bus.emit(event),
    refreshedSince: (family, serial, withinMs) => refreshes.refreshedSince(family, serial, withinMs),
    ready,
    close() {
      events.closeSubscribers()
      persistence.close()
      cluster?.close()
      link?.close()
    },
    revokeFamily,
    revokeSessions(scope) {
      return andThen(familiesIn(scope), (families) =>
        andThen(allOf(families.map((family) => revokeFamily(family.id, 'lab'))), (revoked) => {
          const count = revoked.filter(Boolean).length
          bus.emit({ type: 'sessionsRevoked', count, scope })
          return count
        }),
      )
    },
    familiesIn,
    expire(scope, which) {
      const all = scope.user === undefined && scope.family === undefined
      return andThen(all ? undefined : familiesIn(scope), (inScope) => {
        const families = inScope?.map((family) => family.id)
        let marks: ExpiryMark[] = []
        if (which !== 'refresh') marks = expiry.expire(tokens.lastSerial, families)
        const access = which === 'refresh' ? 0 : (families?.length ?? andThen(store.families(), (f) => f.length))
        const refresh = which === 'access' ? 0 : store.expireRefreshTokens(clock.now(), families && new Set(families))
        return andThen(allOf<number>([access, refresh]), ([accessCount = 0, refreshCount = 0]) => {
          bus.emit({ type: 'tokensExpired', tokens: which, scope, marks })
          return { access: accessCount, refresh: refreshCount }
        })
      })
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
      return andThen(store.sweep(clock.now()), (swept) => {
        if (memoryStore) expiry.sweep((id) => memoryStore.family(id) !== undefined)
        if (state) persistence.compactIfDue(state)
        return swept
      })
    },
    configure(patch) {
      Object.assign(settings, patch)
      return andThen(link?.saveSettings(settings), () => {
        const view = configView()
        bus.emit({ type: 'configChanged', config: view })
        return view
      })
    },
    configView,
    reset() {
      epoch += 1
      Object.assign(settings, startupSettings())
      faults.clear()
      codes.clear()
      clock.reset()
      expiry.clear()
      users.reset()
      return andThen(
        andThen(link?.saveSettings(settings), () => store.clear()),
        () => {
          // Zeroes the counters, empties the log (whose first entry is this reset) and compacts the journal.
          bus.emit({ type: 'reset' })
        },
      )
    },
  }
}

/** Every value, at once when none is a promise. */
function allOf<T>(values: MaybePromise<T>[]): MaybePromise<T[]> {
  return values.some((value) => value instanceof Promise) ? Promise.all(values) : (values as T[])
}

/** The periodic sweep: a Redis store that is away just skips a round (its records expire by TTL anyway). */
export function sweepQuietly(lab: Lab): void {
  const swept = lab.sweep()
  if (swept instanceof Promise) swept.catch(() => undefined)
}
