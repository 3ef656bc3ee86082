import { LabError } from '../src/shared/errors.js'
import { pickLiveSettings, type LiveSettings } from '../src/shared/settings.js'
import type { LabConfigView } from '../src/shared/wire.js'
import { LabClock } from './clock.js'
import type { ServerConfig, UserAccount } from './config.js'
import { DataDir, type JournalEntry } from './data-dir.js'
import { EventLog } from './events.js'
import { FaultTable } from './faults.js'
import { LabCounters } from './stats.js'
import { RefreshStore, type Family, type RevokeReason } from './store.js'
import { loadSigningKeys } from './keys.js'
import { AccessTokens, serialOf, type AccessClaims } from './tokens.js'

/** Settings the lab may change while running (the `live` ones of src/shared/settings.ts). */
export type { LiveSettings } from '../src/shared/settings.js'

/** Which sessions a lab action (revoke, expire) applies to; everything when empty. */
export interface SessionScope {
  /** A user's email. */
  user?: string
  /** A family (session) id, the `sid` of its access tokens. */
  family?: string
}

/** Everything one running lab holds: its settings, clock, sessions, keys, faults and counters. */
export interface Lab {
  readonly config: ServerConfig
  readonly settings: LiveSettings
  readonly clock: LabClock
  readonly store: RefreshStore
  readonly tokens: AccessTokens
  readonly counters: LabCounters
  readonly events: EventLog
  readonly faults: FaultTable
  /**
   * Counts resets. A request that began before the latest reset (held by a delay, say) must not
   * count or act after it, or it would leak into the next test.
   */
  readonly epoch: number
  findUser(email: string): UserAccount | undefined
  userById(id: string): UserAccount | undefined
  /** Every user: the configured ones, then those who registered since the last reset. */
  users(): UserAccount[]
  /** Registers a user; refuses an email already taken. */
  addUser(email: string, password: string, name?: string): UserAccount
  /** Revokes a family and records it in the counters and the event log. */
  revokeFamily(familyId: string, reason: RevokeReason): boolean
  /** The families a scope names; an unknown user or family is an empty list. */
  familiesIn(scope: SessionScope): Family[]
  /** Marks every access token issued so far in the scope as expired. */
  expireAccessTokens(scope: SessionScope): number
  /** True when the lab expired this access token early (`/_lab/expire`). */
  isExpiredEarly(claims: AccessClaims): boolean
  /** Forgets sessions and tokens that can no longer matter (see RefreshStore.sweep). */
  sweep(): number
  configView(): LabConfigView
  /** Resolves once keys are loaded and, with --data-dir, the recovered state is written back. */
  readonly ready: Promise<void>
  /** With --data-dir: keeps the clock's offset after the lab moved it. */
  clockMoved(): void
  /** With --data-dir: flushes and closes the journal. */
  close(): void
  /** Back to a fresh start: no sessions, faults or early expiries, zero counters, empty log, real time, startup settings and users. */
  reset(): void
}

export function createLab(config: ServerConfig): Lab {
  const startupSettings = (): LiveSettings => pickLiveSettings(config)
  const settings = startupSettings()
  const clock = new LabClock()
  // --data-dir: what survives a restart comes back before anything else is built on it.
  const opened = config.dataDir === undefined ? undefined : DataDir.open(config.dataDir, config.fsync)
  const kept = opened?.recovered.keys
  const store = new RefreshStore(settings, kept ? Buffer.from(kept.refreshKey, 'base64') : undefined)
  const secret = config.secretSource === 'random' && kept?.hs256Secret !== undefined ? new Uint8Array(Buffer.from(kept.hs256Secret, 'base64')) : config.secret
  const keys = loadSigningKeys({
    alg: config.alg,
    secret,
    ...(config.keyFile === undefined ? {} : { keyFile: config.keyFile }),
    ...(config.keyFile === undefined && kept?.privateJwk !== undefined ? { privateJwk: kept.privateJwk } : {}),
  })
  const tokens = new AccessTokens(keys, config.audience, config.issuer)
  const counters = new LabCounters()
  const events = new EventLog(config.eventLogSize, clock)
  const faults = new FaultTable()
  const usersByEmail = new Map<string, UserAccount>()
  const usersById = new Map<string, UserAccount>()
  const addUser = (user: UserAccount) => {
    usersByEmail.set(user.email.toLowerCase(), user)
    usersById.set(user.id, user)
    return user
  }
  const startupUsers = () => {
    usersByEmail.clear()
    usersById.clear()
    for (const user of config.users) addUser(user)
  }
  startupUsers()
  // Access tokens with a serial up to these marks count as expired: one mark for all, one per family.
  let expiredThroughAll = 0
  const expiredThroughFamily = new Map<string, number>()
  for (const entry of opened?.recovered.entries ?? []) {
    if (entry.store) store.apply(entry.store)
    if (entry.user) addUser(entry.user)
    if (entry.clockOffsetMs !== undefined) clock.restoreOffset(entry.clockOffsetMs)
    if (entry.serialFloor !== undefined) tokens.restoreSerial(entry.serialFloor)
    if (entry.expiredThroughAll !== undefined) expiredThroughAll = entry.expiredThroughAll
    if (entry.expiredFamily !== undefined) expiredThroughFamily.set(entry.expiredFamily[0], entry.expiredFamily[1])
  }
  /** The whole state as journal entries: what a compaction writes. */
  const stateEntries = (): JournalEntry[] => [
    { store: store.snapshot() },
    ...[...usersById.values()].filter((user) => !config.users.includes(user)).map((user) => ({ user })),
    { clockOffsetMs: clock.offsetMs },
    { serialFloor: tokens.serialFloor },
    { expiredThroughAll },
    ...[...expiredThroughFamily].map((mark) => ({ expiredFamily: mark })),
  ]
  const ready = keys.then((loaded) => {
    if (!opened) return
    opened.dataDir.saveKeys({
      refreshKey: store.key.toString('base64'),
      ...(config.secretSource === 'random' ? { hs256Secret: Buffer.from(secret).toString('base64') } : {}),
      ...((loaded.generatedPrivateJwk ?? kept?.privateJwk) ? { privateJwk: (loaded.generatedPrivateJwk ?? kept?.privateJwk) as Record<string, unknown> } : {}),
    })
    opened.dataDir.compact(stateEntries())
    store.attachJournal((change) => opened.dataDir.append({ store: change }))
    tokens.onSerialBlock = (floor) => opened.dataDir.append({ serialFloor: floor })
  })
  ready.catch(() => undefined) // reported where startServer awaits it
  let epoch = 0
  const lab: Lab = {
    get epoch() {
      return epoch
    },
    config,
    settings,
    clock,
    store,
    tokens,
    counters,
    events,
    faults,
    findUser: (email) => usersByEmail.get(email.toLowerCase()),
    userById: (id) => usersById.get(id),
    users: () => [...usersById.values()],
    addUser(email, password, name) {
      if (usersByEmail.has(email.toLowerCase())) throw new LabError('EMAIL_TAKEN', `a user with the email ${email} already exists`)
      const id = `usr_${usersById.size + 1}`
      const user = addUser(Object.freeze({ id, email, password, name: name ?? email.split('@')[0] ?? email }))
      opened?.dataDir.append({ user })
      return user
    },
    ready,
    clockMoved() {
      opened?.dataDir.append({ clockOffsetMs: clock.offsetMs })
    },
    close() {
      events.closeSubscribers()
      opened?.dataDir.close()
    },
    revokeFamily(familyId, reason) {
      if (!store.revokeFamily(familyId, reason, clock.now())) return false
      counters.familyRevoked()
      return true
    },
    familiesIn(scope) {
      if (scope.family !== undefined) {
        const family = store.family(scope.family)
        return family ? [family] : []
      }
      if (scope.user !== undefined) {
        const user = lab.findUser(scope.user)
        return user ? store.families(user.id) : []
      }
      return store.families()
    },
    expireAccessTokens(scope) {
      const through = tokens.lastSerial
      if (scope.user === undefined && scope.family === undefined) {
        expiredThroughAll = through
        opened?.dataDir.append({ expiredThroughAll: through })
        return store.families().length
      }
      const families = lab.familiesIn(scope)
      for (const family of families) {
        expiredThroughFamily.set(family.id, through)
        opened?.dataDir.append({ expiredFamily: [family.id, through] })
      }
      return families.length
    },
    isExpiredEarly(claims) {
      const serial = serialOf(claims)
      return serial <= expiredThroughAll || serial <= (expiredThroughFamily.get(claims.sid) ?? 0)
    },
    sweep() {
      const swept = store.sweep(clock.now())
      for (const id of expiredThroughFamily.keys()) if (!store.family(id)) expiredThroughFamily.delete(id)
      if (opened?.dataDir.wantsCompaction) opened.dataDir.compact(stateEntries())
      return swept
    },
    configView: () => ({
      ...settings,
      profile: config.profile,
      alg: config.alg,
      issuer: tokens.issuer,
      users: [...usersById.values()].map((u) => u.email),
    }),
    reset() {
      epoch += 1
      Object.assign(settings, startupSettings())
      store.clear()
      faults.clear()
      counters.reset()
      events.clear()
      clock.reset()
      expiredThroughAll = 0
      expiredThroughFamily.clear()
      startupUsers()
      opened?.dataDir.compact(stateEntries())
    },
  }
  return lab
}
