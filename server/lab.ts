import type { LabConfigView } from '../src/shared/wire.js'
import { LabClock } from './clock.js'
import type { ServerConfig, UserAccount } from './config.js'
import { EventLog } from './events.js'
import { LabCounters } from './stats.js'
import { RefreshStore, type RevokeReason } from './store.js'
import { AccessTokens } from './tokens.js'

/** Settings the lab may change while running; everything else in `ServerConfig` is fixed. */
export interface LiveSettings {
  accessTtlMs: number
  refreshTtlMs: number
  reuseGraceMs: number
}

/** Everything one running lab holds: its settings, clock, sessions, keys and counters. */
export interface Lab {
  readonly config: ServerConfig
  readonly settings: LiveSettings
  readonly clock: LabClock
  readonly store: RefreshStore
  readonly tokens: AccessTokens
  readonly counters: LabCounters
  readonly events: EventLog
  findUser(email: string): UserAccount | undefined
  userById(id: string): UserAccount | undefined
  /** Revokes a family and records it in the counters and the event log. */
  revokeFamily(familyId: string, reason: RevokeReason): boolean
  configView(): LabConfigView
  /** Back to a fresh start: no sessions, zero counters, empty log, real time. Keys and users stay. */
  reset(): void
}

export function createLab(config: ServerConfig): Lab {
  const settings: LiveSettings = {
    accessTtlMs: config.accessTtlMs,
    refreshTtlMs: config.refreshTtlMs,
    reuseGraceMs: config.reuseGraceMs,
  }
  const clock = new LabClock()
  const store = new RefreshStore(settings)
  const counters = new LabCounters()
  const events = new EventLog(config.eventLogSize, clock)
  const usersByEmail = new Map(config.users.map((user) => [user.email.toLowerCase(), user]))
  const usersById = new Map(config.users.map((user) => [user.id, user]))

  return {
    config,
    settings,
    clock,
    store,
    tokens: new AccessTokens(config),
    counters,
    events,
    findUser: (email) => usersByEmail.get(email.toLowerCase()),
    userById: (id) => usersById.get(id),
    revokeFamily(familyId, reason) {
      if (!store.revokeFamily(familyId, reason, clock.now())) return false
      counters.familyRevoked()
      return true
    },
    configView: () => ({ ...settings, statelessAccess: config.statelessAccess, users: config.users.map((u) => u.email) }),
    reset() {
      store.clear()
      counters.reset()
      events.clear()
      clock.reset()
    },
  }
}
