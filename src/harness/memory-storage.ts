import { setTimeout as sleep } from 'node:timers/promises'
import type { StoredTokens, TokenStorage, Tokens } from '../client/contract.js'

export interface RecordingStorage extends TokenStorage {
  /** What is stored right now, read synchronously by the harness. */
  readonly current: StoredTokens
  readonly saves: number
  readonly clears: number
}

export interface StorageDelays {
  /** A read returns what was stored when it was issued, this long later. */
  loadDelayMs?: number
  /** A write (save or clear) takes effect, and resolves, this long after it was issued. */
  saveDelayMs?: number
}

/**
 * In-memory token storage that counts what the client does with it. Reads and writes are
 * asynchronous, like SecureStore or AsyncStorage, so a client cannot rely on them being instant;
 * with delays they are as slow as a real device's, so a save the client did not await shows.
 */
export function createRecordingStorage(delays: StorageDelays = {}): RecordingStorage {
  const after = async (ms: number | undefined) => {
    if (ms !== undefined && ms > 0) await sleep(ms)
  }
  let current: StoredTokens = { accessToken: null, refreshToken: null }
  let saves = 0
  let clears = 0
  return {
    get current() {
      return { ...current }
    },
    get saves() {
      return saves
    },
    get clears() {
      return clears
    },
    async load() {
      const read = { ...current }
      await after(delays.loadDelayMs)
      return read
    },
    async save(tokens: Tokens) {
      saves += 1
      await after(delays.saveDelayMs)
      current = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }
    },
    async clear() {
      clears += 1
      await after(delays.saveDelayMs)
      current = { accessToken: null, refreshToken: null }
    },
  }
}
