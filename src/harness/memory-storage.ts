import type { StoredTokens, TokenStorage, Tokens } from '../client/contract.js'

export interface RecordingStorage extends TokenStorage {
  /** What is stored right now, read synchronously by the harness. */
  readonly current: StoredTokens
  readonly saves: number
  readonly clears: number
}

/**
 * In-memory token storage that counts what the client does with it. Reads and writes are
 * asynchronous, like SecureStore or AsyncStorage, so a client cannot rely on them being instant.
 */
export function createRecordingStorage(): RecordingStorage {
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
      return { ...current }
    },
    async save(tokens: Tokens) {
      saves += 1
      current = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }
    },
    async clear() {
      clears += 1
      current = { accessToken: null, refreshToken: null }
    },
  }
}
