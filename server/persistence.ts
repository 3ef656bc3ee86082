import type { JWK } from 'jose'
import type { AccessExpiryMarks } from './access-expiry.js'
import type { LabClock } from './clock.js'
import type { ServerConfig } from './config.js'
import { DataDir, type JournalEntry, type PersistedKeys } from './data-dir.js'
import type { LabDomainEvent } from './domain-events.js'
import type { SigningKeys } from './keys.js'
import type { RefreshStore } from './store.js'
import type { AccessTokens } from './tokens.js'
import type { UserRegistry } from './users.js'

/** The keys a lab starts with; without a data dir (or a fresh one), the configured ones and a random refresh key. */
export interface LabKeys {
  /** The key refresh-token children are derived with; a random one when absent. */
  refreshKey?: Buffer
  /** The HS256 secret. */
  secret: Uint8Array
  /** The private key of an asymmetric --alg that a previous run generated (never over a --key). */
  privateJwk?: JWK
}

/** What `--data-dir` keeps of a lab. */
export interface PersistedState {
  store: RefreshStore
  users: UserRegistry
  clock: LabClock
  tokens: AccessTokens
  expiry: AccessExpiryMarks
}

/**
 * `--data-dir` for one lab: recovery at startup, the journal (which follows the lab's domain events
 * and the store's changes), compaction and the saved keys. Without `--data-dir` every method is a
 * no-op, so the lab composes it the same either way.
 */
export class Persistence {
  readonly #dir: DataDir | undefined
  readonly #entries: JournalEntry[]
  readonly #kept: PersistedKeys | undefined
  /** The keys the lab signs and derives with: those a previous run saved, so its tokens keep working. */
  readonly keys: LabKeys

  constructor(private readonly config: ServerConfig) {
    const opened = config.dataDir === undefined ? undefined : DataDir.open(config.dataDir, config.fsync)
    this.#dir = opened?.dataDir
    this.#entries = opened?.recovered.entries ?? []
    const kept = (this.#kept = opened?.recovered.keys)
    this.keys = {
      ...(kept ? { refreshKey: Buffer.from(kept.refreshKey, 'base64') } : {}),
      secret:
        config.secretSource === 'random' && kept?.hs256Secret !== undefined
          ? new Uint8Array(Buffer.from(kept.hs256Secret, 'base64'))
          : config.secret,
      ...(config.keyFile === undefined && kept?.privateJwk !== undefined ? { privateJwk: kept.privateJwk } : {}),
    }
  }

  /** Replays the snapshot and journal into a freshly built lab, before anything is built on it. */
  recover(state: PersistedState): void {
    for (const entry of this.#entries) {
      if (entry.store) state.store.apply(entry.store)
      if (entry.user) state.users.restore(entry.user)
      if (entry.clockOffsetMs !== undefined) state.clock.restoreOffset(entry.clockOffsetMs)
      if (entry.serialFloor !== undefined) state.tokens.restoreSerial(entry.serialFloor)
      if (entry.expiredThroughAll !== undefined) state.expiry.restore({ through: entry.expiredThroughAll })
      if (entry.expiredFamily !== undefined) state.expiry.restore({ family: entry.expiredFamily[0], through: entry.expiredFamily[1] })
    }
    this.#entries.length = 0
  }

  /**
   * Once the keys are loaded: saves them, writes the recovered state back as a fresh snapshot, and
   * from then on journals each store change and each block of access-token serials.
   */
  start(state: PersistedState, loaded: SigningKeys): void {
    const dir = this.#dir
    if (!dir) return
    const privateJwk = loaded.generatedPrivateJwk ?? this.#kept?.privateJwk
    dir.saveKeys({
      refreshKey: state.store.key.toString('base64'),
      ...(this.config.secretSource === 'random' ? { hs256Secret: Buffer.from(this.keys.secret).toString('base64') } : {}),
      ...(privateJwk ? { privateJwk: privateJwk as Record<string, unknown> } : {}),
    })
    dir.compact(stateEntries(state))
    state.store.attachJournal((change) => dir.append({ store: change }))
    state.tokens.onSerialBlock = (floor) => dir.append({ serialFloor: floor })
  }

  /** The journal's subscription to the lab's domain events: what recovery must replay, or a compaction after a reset. */
  follow(event: LabDomainEvent, state: PersistedState): void {
    const dir = this.#dir
    if (!dir) return
    for (const entry of journalEntriesFor(event)) dir.append(entry)
    if (event.type === 'reset') dir.compactOrStop(stateEntries(state))
  }

  /** Folds the journal into a snapshot once it has grown past its limit (called by the lab's sweep). */
  compactIfDue(state: PersistedState): void {
    if (this.#dir?.wantsCompaction) this.#dir.compactOrStop(stateEntries(state))
  }

  /** Flushes and closes the journal. */
  close(): void {
    this.#dir?.close()
  }
}

/** The journal lines a domain event writes, in the entry format `data-dir.ts` reads back. */
export function journalEntriesFor(event: LabDomainEvent): JournalEntry[] {
  switch (event.type) {
    case 'userRegistered':
      return [{ user: event.user }]
    case 'clockMoved':
      return [{ clockOffsetMs: event.offsetMs }]
    case 'tokensExpired':
      return event.marks.map(
        (mark): JournalEntry =>
          mark.family === undefined ? { expiredThroughAll: mark.through } : { expiredFamily: [mark.family, mark.through] },
      )
    default:
      // Sessions and tokens reach the journal as the store's own changes (RefreshStore.attachJournal).
      return []
  }
}

/** The whole state as journal entries: what a compaction writes. */
function stateEntries(state: PersistedState): JournalEntry[] {
  const [all, ...families] = state.expiry.marks()
  return [
    { store: state.store.snapshot() },
    ...state.users.registered().map((user) => ({ user })),
    { clockOffsetMs: state.clock.offsetMs },
    { serialFloor: state.tokens.serialFloor },
    { expiredThroughAll: all?.through ?? 0 },
    ...families.map((mark): JournalEntry => ({ expiredFamily: [mark.family as string, mark.through] })),
  ]
}
