import type { CallSink } from '../recording-fetch.js'
import type { RecordingStorage } from '../memory-storage.js'
import type { TabAnswer } from './messages.js'
import type { LockTable } from './web-locks.js'

/**
 * One client instance, a "tab": a worker thread, a child process, or (programmatic API only) the
 * harness's own thread. Tabs of one run share the host: its storage, its locks, its call log.
 */
export interface ClientTab {
  /** From 1. */
  readonly tab: number
  /** Loads the client (a module in its thread, a command's process). Rejects with one readable line. */
  start(): Promise<void>
  /** Calls `createClient(ctx)`. Rejects with one readable line. */
  create(): Promise<void>
  /** Runs one request; resolves however it ended, also when the tab died meanwhile. */
  request(id: string, method: string, path: string, body: unknown): Promise<TabAnswer>
  /** Ends the tab, whatever it is doing: a busy loop, a timer, an open channel. */
  close(): Promise<void>
  /** Set once the tab ended by itself (exit, crash), with why. */
  readonly died: string | undefined
  /** What the client printed (its stdout and stderr), kept for a failing verdict. */
  readonly output: string
}

/** What one tab needs to know to build its client's fetch, wherever it runs. */
export interface TabSettings {
  baseUrl: string
  /** From 1. */
  tab: number
  connections: number
  refreshPath: string
  /** The run's call budget, shared by every tab (see `createCallBudget`). */
  budget: Int32Array
  maxCalls: number
  /** Run each request under its id (`requestTag`), for the timeline. */
  tagRequests: boolean
}

export function tabSettings(tab: number, host: TabHost): TabSettings {
  return {
    baseUrl: host.baseUrl,
    tab,
    connections: host.connections,
    refreshPath: host.refreshPath,
    budget: host.budget,
    maxCalls: host.maxCalls,
    tagRequests: host.tagRequests,
  }
}

/** What the tabs of one run share, held by the harness. */
export interface TabHost {
  baseUrl: string
  refreshPath: string
  connections: number
  storage: RecordingStorage
  locks: LockTable
  sink: CallSink
  budget: Int32Array
  maxCalls: number
  tagRequests: boolean
  onLogout(): void
  onLimit(): void
}

/** Output kept per tab: enough to explain a failure, bounded so a chatty client cannot grow the heap. */
export const OUTPUT_LIMIT = 16 * 1024

export function appendOutput(kept: string, chunk: string): string {
  const joined = kept + chunk
  return joined.length > OUTPUT_LIMIT ? joined.slice(joined.length - OUTPUT_LIMIT) : joined
}

/** The answer every request still waiting on a dead tab gets. */
export function diedAnswer(reason: string): TabAnswer {
  return { ok: false, failure: { code: 'CLIENT_EXITED', message: reason } }
}
