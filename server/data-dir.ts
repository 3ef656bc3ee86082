import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from './config-error.js'
import type { UserAccount } from './config.js'
import type { StoreChange } from './store.js'

/** What `--data-dir` keeps besides the sessions: what must stay the same for tokens to keep working. */
export interface PersistedKeys {
  /** The HS256 secret, when none was given (a random one would die with the process). */
  hs256Secret?: string
  /** The key refresh-token children are derived with. */
  refreshKey: string
  /** The generated private key of an asymmetric --alg, when no --key was given. */
  privateJwk?: Record<string, unknown>
}

/** One journal line: a store change, a registered user, or the lab clock's offset. */
export interface JournalEntry {
  store?: StoreChange
  user?: UserAccount
  clockOffsetMs?: number
}

export interface Recovered {
  keys: PersistedKeys | undefined
  entries: JournalEntry[]
}

const KEYS = 'keys.json'
const SNAPSHOT = 'state.json'
const JOURNAL = 'journal.ndjson'
/** Past this size the journal is folded into a fresh snapshot at the next sweep. */
const COMPACT_BYTES = 16 * 1024 * 1024

/**
 * A data directory: a snapshot plus an append-only journal, one JSON line a change. Every change
 * is written (and with `fsync`, flushed to disk) before the request that made it is answered, so a
 * crashed process loses nothing it acknowledged. Snapshots are written to a temporary file and
 * renamed, so no file is ever half written; a torn last journal line is a change that was never
 * answered and is dropped. Anything else that does not parse stops startup with one clear error.
 */
export class DataDir {
  #fd: number | undefined
  #bytes = 0

  private constructor(
    readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  /** Opens (creating) the directory and reads back what it holds. */
  static open(dir: string, fsync: boolean): { dataDir: DataDir; recovered: Recovered } {
    try {
      mkdirSync(dir, { recursive: true })
    } catch (error) {
      throw new ConfigError(`--data-dir: cannot use ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    const dataDir = new DataDir(dir, fsync)
    const keys = dataDir.#readJson<PersistedKeys>(KEYS)
    const snapshot = dataDir.#readJson<JournalEntry[]>(SNAPSHOT) ?? []
    return { dataDir, recovered: { keys, entries: [...snapshot, ...dataDir.#readJournal()] } }
  }

  saveKeys(keys: PersistedKeys): void {
    this.#writeAtomically(KEYS, JSON.stringify(keys))
  }

  /** Folds everything into a new snapshot and starts an empty journal. */
  compact(entries: JournalEntry[]): void {
    this.#writeAtomically(SNAPSHOT, JSON.stringify(entries))
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = openSync(join(this.dir, JOURNAL), 'w')
    this.#bytes = 0
  }

  append(entry: JournalEntry): void {
    if (this.#fd === undefined) this.#fd = openSync(join(this.dir, JOURNAL), 'a')
    const line = `${JSON.stringify(entry)}\n`
    // Synchronous on purpose: the change reaches the operating system before the answer leaves.
    writeSync(this.#fd, line)
    if (this.fsync) fsyncSync(this.#fd)
    this.#bytes += line.length
  }

  get wantsCompaction(): boolean {
    return this.#bytes > COMPACT_BYTES
  }

  close(): void {
    if (this.#fd !== undefined) {
      fsyncSync(this.#fd)
      closeSync(this.#fd)
      this.#fd = undefined
    }
  }

  #readJson<T>(name: string): T | undefined {
    let text: string
    try {
      text = readFileSync(join(this.dir, name), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new ConfigError(`--data-dir: cannot read ${join(this.dir, name)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ConfigError(`--data-dir: ${join(this.dir, name)} is corrupt (not JSON); refresh-lab will not start over it and lose data: move it away to start empty`)
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
        throw new ConfigError(`--data-dir: ${path} is corrupt at line ${index + 1}; refresh-lab will not start over it and lose data: move it away to start empty`)
      }
    })
  }

  #writeAtomically(name: string, text: string): void {
    const path = join(this.dir, name)
    const temporary = `${path}.tmp`
    writeFileSync(temporary, text)
    const fd = openSync(temporary, 'r')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temporary, path)
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
