import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from './config-error.js'
import type { UserAccount } from './config.js'
import { cannotWrite, DirLock } from './dir-lock.js'
import type { StoreChange } from './store.js'

/** What `--data-dir` keeps besides the sessions: what must stay the same for tokens to keep working. */
export interface PersistedKeys {
  /** The HS256 secret, when none was given (a random one would die with the process). */
  hs256Secret?: string
  /** The key refresh tokens are signed with (and, for tokens of older data dirs, children derived with). */
  refreshKey: string
  /** The generated private key of an asymmetric --alg, when no --key was given. */
  privateJwk?: Record<string, unknown>
}

/** One journal line: a store change, a registered user, the lab clock's offset, or early-expiry marks. */
export interface JournalEntry {
  store?: StoreChange
  user?: UserAccount
  clockOffsetMs?: number
  /** Access-token serials start above this after a restart, so "expire" never misses an old token. */
  serialFloor?: number
  /** Access tokens up to this serial are expired (all sessions). */
  expiredThroughAll?: number
  /** Access tokens of one session up to a serial are expired. */
  expiredFamily?: [familyId: string, through: number]
}

export interface Recovered {
  keys: PersistedKeys | undefined
  entries: JournalEntry[]
}

const KEYS = 'keys.json'
const SNAPSHOT = 'state.json'
const JOURNAL = 'journal.ndjson'
const LOCK = 'lock'
/** Past this size the journal is folded into a fresh snapshot at the next sweep. */
const COMPACT_BYTES = 16 * 1024 * 1024

/**
 * A data directory: a snapshot plus an append-only journal, one JSON line a change. Every change
 * is written (and with `fsync`, flushed to disk) before the request that made it is answered, so a
 * crashed process loses nothing it acknowledged. Snapshots are written to a temporary file and
 * renamed, so no file is ever half written; a torn last journal line is a change that was never
 * answered and is dropped. Anything else that does not parse stops startup with one clear error.
 * One server at a time: a lock file holding its PID (server/dir-lock.ts) is taken before anything
 * is read and removed by `close`.
 */
export class DataDir {
  #fd: number | undefined
  #bytes = 0

  private constructor(
    readonly dir: string,
    private readonly fsync: boolean,
    private readonly lock: DirLock,
  ) {}

  /** Opens (creating) the directory and reads back what it holds. */
  static open(dir: string, fsync: boolean): { dataDir: DataDir; recovered: Recovered } {
    try {
      mkdirSync(dir, { recursive: true })
    } catch (error) {
      throw new ConfigError(`--data-dir: cannot use ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    const dataDir = new DataDir(dir, fsync, DirLock.take(join(dir, LOCK), dir))
    try {
      return { dataDir, recovered: dataDir.#recover() }
    } catch (error) {
      dataDir.lock.release()
      throw error
    }
  }

  #recover(): Recovered {
    const keys = this.#readJson<unknown>(KEYS)
    if (keys !== undefined) checkKeys(keys, join(this.dir, KEYS))
    // Only a missing snapshot means "nothing yet": a `null` one is garbage like any other, never 0 sessions to compact over.
    const read = this.#readJson<unknown>(SNAPSHOT)
    const snapshot = read === undefined ? [] : read
    if (!Array.isArray(snapshot)) throw corrupt(join(this.dir, SNAPSHOT), 'not a list of entries')
    for (const [index, entry] of snapshot.entries()) checkEntry(entry, `${join(this.dir, SNAPSHOT)} entry ${index + 1}`)
    const journal = this.#readJournal()
    for (const [index, entry] of journal.entries()) checkEntry(entry, `${join(this.dir, JOURNAL)} line ${index + 1}`)
    return { keys: keys as PersistedKeys | undefined, entries: [...(snapshot as JournalEntry[]), ...journal] }
  }

  saveKeys(keys: PersistedKeys): void {
    this.#writeAtomically(KEYS, JSON.stringify(keys))
  }

  /** Folds everything into a new snapshot and starts an empty journal. */
  compact(entries: JournalEntry[]): void {
    this.#writeAtomically(SNAPSHOT, JSON.stringify(entries))
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
    try {
      this.#fd = openSync(join(this.dir, JOURNAL), 'w')
    } catch (error) {
      throw cannotWrite(join(this.dir, JOURNAL), error)
    }
    this.#bytes = 0
  }

  append(entry: JournalEntry): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`)
    try {
      if (this.#fd === undefined) this.#fd = openSync(join(this.dir, JOURNAL), 'a')
      // Synchronous on purpose: the change reaches the operating system before the answer leaves.
      for (let written = 0; written < line.length; ) written += writeSync(this.#fd, line, written)
      if (this.fsync) fsyncSync(this.#fd)
    } catch (error) {
      this.#stop(cannotWrite(join(this.dir, JOURNAL), error))
    }
    this.#bytes += line.length
  }

  /** A compaction while running (a reset, a grown journal): a write that fails stops the server, as `append` does. */
  compactOrStop(entries: JournalEntry[]): void {
    try {
      this.compact(entries)
    } catch (error) {
      this.#stop(error as Error)
    }
  }

  /** Memory already holds the change: answering on would build on a state the disk never saw. */
  #stop(error: Error): never {
    console.error(`refresh-lab: ${error.message}; stopping rather than lose answered changes`)
    this.lock.release()
    process.exit(70)
  }

  get wantsCompaction(): boolean {
    return this.#bytes > COMPACT_BYTES
  }

  /** Flushes and closes the journal, then gives up the lock. */
  close(): void {
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd)
      closeSync(this.#fd)
      this.#fd = undefined
    }
    this.lock.release()
  }

  #readJson<T>(name: string): T | undefined {
    let text: string
    try {
      text = readFileSync(join(this.dir, name), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new ConfigError(
        `--data-dir: cannot read ${join(this.dir, name)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      )
    }
    try {
      return JSON.parse(text) as T
    } catch {
      throw corrupt(join(this.dir, name), 'not JSON')
    }
  }

  #readJournal(): JournalEntry[] {
    const path = join(this.dir, JOURNAL)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new ConfigError(`--data-dir: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    const lines = text.split('\n')
    // The last piece has no newline: empty, or a change torn by a crash mid-write, never answered.
    lines.pop()
    return lines.map((line, index) => {
      try {
        return JSON.parse(line) as JournalEntry
      } catch {
        throw corrupt(`${path} line ${index + 1}`, 'not JSON')
      }
    })
  }

  #writeAtomically(name: string, text: string): void {
    const path = join(this.dir, name)
    const temporary = `${path}.tmp`
    const data = Buffer.from(text)
    let fd: number | undefined
    try {
      fd = openSync(temporary, 'w')
      for (let written = 0; written < data.length; ) written += writeSync(fd, data, written)
      fsyncSync(fd)
      closeSync(fd)
      fd = undefined
      renameSync(temporary, path)
    } catch (error) {
      // A full or read-only disk: one line, and no half-written temporary file left behind.
      try {
        if (fd !== undefined) closeSync(fd)
        unlinkSync(temporary)
      } catch {
        // never created
      }
      throw cannotWrite(temporary, error)
    }
    // The rename itself must reach the disk before the journal it replaces is emptied.
    const dirFd = openSync(this.dir, 'r')
    fsyncSync(dirFd)
    closeSync(dirFd)
  }

  /** For the soak test and stats: how big the journal has grown. */
  get journalBytes(): number {
    try {
      return statSync(join(this.dir, JOURNAL)).size
    } catch {
      return 0
    }
  }
}

function corrupt(where: string, what: string): ConfigError {
  return new ConfigError(
    `--data-dir: ${where} is corrupt (${what}); refresh-lab will not start over it and lose data: move it away to start empty`,
  )
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
/** The furthest a Date reaches from 1970, either way (ECMA-262, "Time Values and Time Range"). */
const MAX_DATE_MS = 8.64e15
/** The lab's times run from 1970 and never past what a Date can show (the clock stops at the year 9999). */
const isTime = (value: unknown): value is number => typeof value === 'number' && value >= 0 && value <= MAX_DATE_MS
const isCount = (value: unknown, min: number): value is number => Number.isSafeInteger(value) && (value as number) >= min
const isUint48 = (value: unknown, min: number): value is number => isCount(value, min) && value <= 2 ** 48 - 1
const isPair = (value: unknown): value is [unknown, unknown] => Array.isArray(value) && value.length === 2
const REVOKE_REASONS: unknown[] = ['reuse', 'logout', 'lab']

function checkKeys(keys: unknown, where: string): void {
  if (!isObject(keys) || typeof keys['refreshKey'] !== 'string' || Buffer.from(keys['refreshKey'], 'base64').length !== 32) {
    throw corrupt(where, 'no 32-byte refreshKey')
  }
  // The lab saves the random 32-byte secret it made; an empty one would make startup fail in jose.
  const secret = keys['hs256Secret']
  if (secret !== undefined && (typeof secret !== 'string' || Buffer.from(secret, 'base64').length !== 32)) {
    throw corrupt(where, 'hs256Secret is not a 32-byte secret')
  }
  if (keys['privateJwk'] !== undefined && !isObject(keys['privateJwk'])) throw corrupt(where, 'privateJwk is not a JWK')
}

/** What is out of range in a record's fields, worded for the corrupt-file message; undefined when all hold. */
function rangeProblem(record: Record<string, unknown>, times: string[], counts: [field: string, min: number][]): string | undefined {
  for (const field of times) {
    const value = record[field]
    if (value !== undefined && value !== null && !isTime(value)) return `${field} ${JSON.stringify(value)} is not a time a Date can hold`
  }
  for (const [field, min] of counts) {
    if (!isCount(record[field], min)) return `${field} ${JSON.stringify(record[field])} is not a whole number from ${min}`
  }
  return undefined
}

/**
 * Every entry is checked before any is applied: a wrong shape, or a value out of range (a time past
 * what a Date can hold, a negative generation), stops startup naming the file and entry; it is never
 * half-loaded, nor found later as a 500.
 */
function checkEntry(entry: unknown, where: string): void {
  if (!isObject(entry)) throw corrupt(where, 'not an object')
  const { store, user, clockOffsetMs, serialFloor, expiredThroughAll, expiredFamily } = entry
  if (clockOffsetMs !== undefined) {
    if (typeof clockOffsetMs !== 'number' || !Number.isFinite(clockOffsetMs)) throw corrupt(where, 'clockOffsetMs is not a number')
    if (!isTime(Date.now() + clockOffsetMs)) {
      throw corrupt(where, `clockOffsetMs ${JSON.stringify(clockOffsetMs)} puts the lab clock beyond what a Date can hold`)
    }
  }
  if (serialFloor !== undefined && !isCount(serialFloor, 0))
    throw corrupt(where, `serialFloor ${JSON.stringify(serialFloor)} is not a whole number from 0`)
  if (expiredThroughAll !== undefined && !isCount(expiredThroughAll, 0)) {
    throw corrupt(where, `expiredThroughAll ${JSON.stringify(expiredThroughAll)} is not a whole number from 0`)
  }
  if (
    expiredFamily !== undefined &&
    !(Array.isArray(expiredFamily) && typeof expiredFamily[0] === 'string' && isCount(expiredFamily[1], 0))
  ) {
    throw corrupt(where, 'expiredFamily is not [id, serial]')
  }
  if (user !== undefined && !(isObject(user) && ['id', 'email', 'password', 'name'].every((k) => typeof user[k] === 'string'))) {
    throw corrupt(where, 'a user without id, email, password and name')
  }
  if (store === undefined) return
  if (!isObject(store)) throw corrupt(where, 'store is not an object')
  const { families = [], tokens = [], trails = [], forgetFamilies = [], forgetTokens = [] } = store
  if (!Array.isArray(families)) throw corrupt(where, 'a session of the wrong shape')
  for (const f of families) {
    const shaped =
      isObject(f) &&
      typeof f['id'] === 'string' &&
      typeof f['userId'] === 'string' &&
      [f['createdAt'], f['expiresAt']].every((time) => typeof time === 'number') &&
      (f['status'] === 'active' || f['status'] === 'revoked') &&
      (f['revokedAt'] === undefined || typeof f['revokedAt'] === 'number') &&
      (f['revokedReason'] === undefined || REVOKE_REASONS.includes(f['revokedReason'])) &&
      (f['clientId'] === undefined || typeof f['clientId'] === 'string') &&
      (f['scope'] === undefined || typeof f['scope'] === 'string') &&
      (f['authTime'] === undefined || typeof f['authTime'] === 'number')
    if (!shaped) throw corrupt(where, 'a session of the wrong shape')
    const problem = rangeProblem(f, ['createdAt', 'expiresAt', 'revokedAt', 'authTime'], [['generation', 1]])
    if (problem) throw corrupt(where, `session ${f['id']}: ${problem}`)
  }
  if (!Array.isArray(tokens)) throw corrupt(where, 'a token record of the wrong shape')
  for (const t of tokens) {
    const r: unknown = Array.isArray(t) && typeof t[0] === 'string' ? t[1] : undefined
    const shaped =
      isObject(r) &&
      typeof r['familyId'] === 'string' &&
      [r['issuedAt'], r['expiresAt']].every((time) => typeof time === 'number') &&
      (r['rotatedAt'] === null || typeof r['rotatedAt'] === 'number') &&
      // A child is rebuilt from these: what the token format carries (server/refresh-token-format.ts).
      (r['child'] === undefined ||
        (isPair(r['child']) && isUint48(r['child'][0], 1) && isUint48(r['child'][1], 0) && /^fam_[\w-]{12}$/.test(r['familyId'] as string)))
    if (!shaped) throw corrupt(where, 'a token record of the wrong shape')
    const problem = rangeProblem(
      r,
      ['issuedAt', 'expiresAt', 'rotatedAt'],
      [
        ['generation', 1],
        ['graceUses', 0],
      ],
    )
    if (problem) throw corrupt(where, `a token of ${r['familyId']}: ${problem}`)
  }
  if (!Array.isArray(trails)) throw corrupt(where, 'a token trail of the wrong shape')
  for (const entry of trails) {
    const trail: unknown = Array.isArray(entry) && typeof entry[0] === 'string' ? entry[1] : undefined
    const shaped =
      isObject(trail) &&
      (trail['forgottenRotatedAt'] === undefined || isTime(trail['forgottenRotatedAt'])) &&
      (trail['forgottenGeneration'] === undefined || isCount(trail['forgottenGeneration'], 1)) &&
      (trail['expired'] === undefined || (isPair(trail['expired']) && isCount(trail['expired'][0], 1) && isTime(trail['expired'][1])))
    if (!shaped) throw corrupt(where, 'a token trail of the wrong shape')
  }
  const strings = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === 'string')
  if (!strings(forgetFamilies) || !strings(forgetTokens)) throw corrupt(where, 'a forget list of the wrong shape')
  if (store['clear'] !== undefined && store['clear'] !== true) throw corrupt(where, 'clear is not true')
}
