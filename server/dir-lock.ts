import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { ConfigError } from './config-error.js'

/**
 * One server per `--data-dir`: a lock file holding the owner's PID. Two servers on one directory
 * would each truncate and append to the journal through their own offsets, losing answered changes.
 *
 * The lock is created atomically as a hard link to a file that already holds the PID, so it either
 * exists whole or not at all. A lock whose PID is no longer running (a `kill -9`, a crash) is stale
 * and taken over, with one line on stderr; a clean close removes it.
 */
export class DirLock {
  private constructor(readonly path: string) {}

  /** Takes the lock or throws a `ConfigError` naming the PID that holds it. */
  static take(path: string, dir: string, report: (line: string) => void = (line) => console.error(line)): DirLock {
    const mine = `${path}.${process.pid}.tmp`
    try {
      writeFileSync(mine, `${process.pid}\n`)
    } catch (error) {
      removeQuietly(mine)
      throw cannotWrite(mine, error)
    }
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          linkSync(mine, path)
          return new DirLock(path)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(path, error)
        }
        const holder = holderOf(path)
        // A second stale lock right after taking one over means another server is starting too.
        if ((holder !== undefined && isRunning(holder)) || attempt > 0) {
          throw new ConfigError(
            `--data-dir: ${dir} is in use by PID ${holder ?? '?'} (lock file ${path}); stop that server, or delete the lock file if that PID is not a refresh-lab`,
          )
        }
        report(`refresh-lab: --data-dir: taking over the stale lock ${path} of PID ${holder ?? '?'}, which is no longer running`)
        removeQuietly(path)
      }
    } finally {
      removeQuietly(mine)
    }
  }

  /** Removes the lock, unless another process has (wrongly) taken it over since. */
  release(): void {
    if (holderOf(this.path) === process.pid) removeQuietly(this.path)
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Whether a PID is a live process: signal 0 checks without sending anything. */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true // a second lab in this very process
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH' // EPERM: alive, another user's
  }
  return !isZombie(pid)
}

/** Linux: a killed child its parent has not reaped yet still answers signal 0, but is dead. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z'
  } catch {
    return false
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone, or never created
  }
}

/** A data dir the server cannot write to (read-only, full, not ours): the user's to fix, one line. */
export function cannotWrite(path: string, error: unknown): ConfigError {
  return new ConfigError(`--data-dir: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
}
