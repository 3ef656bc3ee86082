import type { StoredTokens, Tokens } from '../../client/contract.js'
import type { CallEnd, CallStart } from '../recording-fetch.js'
import type { ClientFailure } from './client-error.js'
import type { TabSettings } from './tab.js'
import type { LockCall, LockReply } from './web-locks.js'

/** How one request ended inside a tab. */
export type TabAnswer = { ok: true; value: unknown } | { ok: false; failure: ClientFailure }

/** What a worker tab is started with (its `start` message). */
export interface TabWorkerData extends TabSettings {
  /** A built-in client's name, or the module's absolute path and the URL of its bundle for tabs (compile-client.ts), if one was made. */
  client: { builtIn: string } | { file: string; compiled?: string }
}

/** Harness → worker tab. */
export type ToTab =
  | { type: 'start'; data: TabWorkerData }
  | { type: 'create' }
  | { type: 'request'; id: string; method: string; path: string; body: unknown }
  | { type: 'storage'; call: number; result?: StoredTokens | null; error?: string }
  | { type: 'lock'; reply: LockReply }

/** Worker tab → harness. */
export type FromTab =
  | { type: 'loaded' }
  | { type: 'created' }
  | { type: 'failed'; message: string }
  | { type: 'answer'; id: string; answer: TabAnswer }
  | { type: 'storage'; call: number; op: 'load' | 'clear' }
  | { type: 'storage'; call: number; op: 'save'; tokens: Tokens }
  | { type: 'logout' }
  | { type: 'call-start'; key: number; call: CallStart }
  | { type: 'call-end'; key: number; end: CallEnd }
  | { type: 'call-limit' }
  | { type: 'lock'; call: LockCall }
