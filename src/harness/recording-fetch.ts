import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import type { Agent } from 'undici'
import { grantTypeOf } from '../shared/profiles.js'
import { ROUTES } from '../shared/wire.js'

/**
 * Which harness request a fetch call belongs to. The client tab runs each `client.request()` inside
 * `requestTag.run({ id }, …)`, and async context carries the id into every call the client makes
 * for it, the refresh included, so the timeline can tell who did what.
 */
export const requestTag = new AsyncLocalStorage<{ id: string }>()

/** One call a client made through the harness's fetch. */
export interface FetchRecord {
  seq: number
  /** The harness request this call was made for (see `requestTag`); none for a client's own timers. */
  requestId?: string
  /** Which tab (client instance) made it, from 1. */
  tab?: number
  method: string
  path: string
  /** Milliseconds since the run's recorder was created. */
  startedAt: number
  endedAt?: number
  status?: number
  /** Set when no answer arrived (connection refused or dropped, aborted). */
  error?: string
  /** True for a `POST` to the refresh path. */
  refresh: boolean
  /** For a refresh call: the refresh token it spent, so replays can be spotted client-side. */
  refreshToken?: string
}

/** A call as a tab reports it: times are epoch milliseconds, so tabs in other threads agree. */
export type CallStart = Omit<FetchRecord, 'seq' | 'startedAt' | 'endedAt' | 'status' | 'error'> & { at: number }
export interface CallEnd {
  at: number
  status?: number
  error?: string
}

/** Where a tab's fetch reports its calls: straight into the run's list, or across a thread. */
export interface CallSink {
  start(call: CallStart): number
  end(key: number, end: CallEnd): void
}

/**
 * The call budget of a run, shared by every tab (each may be its own thread): calls past
 * `maxCalls` are refused, and the first refusal ends the run early with `CALL_LIMIT`.
 * Slot 0 counts calls made, slot 1 calls refused.
 */
export function createCallBudget(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8))
}

export interface TabFetchOptions {
  /** Most connections this tab keeps open to the server. */
  connections: number
  refreshPath: string
  budget: Int32Array
  maxCalls: number
  sink: CallSink
  /** Told once, when the first call past the budget is refused. */
  onLimit?: () => void
  tab?: number
}

export interface TabFetch {
  fetch: typeof fetch
  close(): Promise<void>
}

/** Epoch milliseconds with sub-millisecond precision, comparable across threads. */
export const now = (): number => performance.timeOrigin + performance.now()

/** A call that never settles: where a looping client is parked once its budget is spent. */
const parked = () => new Promise<Response>(() => undefined)

/**
 * The fetch handed to a client: the runtime's own fetch (so a `Request` from any library works and
 * a real `Response` comes back) over a keep-alive pool sized for the burst, recording every call.
 * It takes every form fetch takes: a string, a `URL` or a `Request`, with or without `init`.
 */
export function createTabFetch(options: TabFetchOptions): TabFetch {
  const dispatcher = new (runtimeAgentClass())({ connections: options.connections, keepAliveTimeout: 10_000, pipelining: 1 })
  const { budget, sink } = options

  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // Past the budget, calls park instead of failing: a client that retries on every error would
    // otherwise spin in a loop that starves its thread.
    // A call fetch itself would refuse (a bad URL) throws here, before it counts against the budget.
    const request = new Request(input, init)
    if (Atomics.add(budget, 0, 1) >= options.maxCalls) {
      if (Atomics.add(budget, 1, 1) === 0) options.onLimit?.()
      return parked()
    }
    const url = new URL(request.url)
    const method = request.method.toUpperCase()
    const mayRefresh = method === 'POST' && (url.pathname === options.refreshPath || url.pathname === ROUTES.oauthToken)
    const body = mayRefresh ? await bodyText(request, init) : ''
    // The OAuth token endpoint refreshes only for grant_type=refresh_token, in a form or in JSON.
    const refresh = mayRefresh && (url.pathname === options.refreshPath || grantTypeOf(body) === 'refresh_token')
    const start: CallStart = { method, path: url.pathname, refresh, at: now() }
    const tag = requestTag.getStore()
    if (tag) start.requestId = tag.id
    if (options.tab !== undefined) start.tab = options.tab
    if (refresh) {
      const token = refreshTokenIn(body)
      if (token !== undefined) start.refreshToken = token
    }
    const key = sink.start(start)
    try {
      // The runtime's fetch takes its own undici's dispatcher; the cast only bridges the two typings.
      const response = await fetch(request, { dispatcher } as unknown as RequestInit)
      sink.end(key, { at: now(), status: response.status })
      return response
    } catch (error) {
      sink.end(key, { at: now(), error: error instanceof Error ? describeFetchError(error) : String(error) })
      throw error
    }
  }

  return { fetch: recording as typeof fetch, close: () => dispatcher.destroy() }
}

/**
 * A refresh call's body, leaving the request's own to be sent: the text given in `init`, as most
 * clients give it, else read from a clone (a `Request` built by a library). Cloning tees the body
 * stream, whose first use costs each thread about 10 ms of Node's web-streams set-up.
 */
function bodyText(request: Request, init: RequestInit | undefined): Promise<string> {
  const given = init?.body
  if (typeof given === 'string') return Promise.resolve(given)
  if (given instanceof URLSearchParams) return Promise.resolve(given.toString())
  return request
    .clone()
    .text()
    .catch(() => '')
}

type AgentClass = typeof Agent
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1')
let agentClass: AgentClass | undefined

/**
 * undici's `Agent` class as the runtime's own fetch bundles it, so a tab need not load the undici
 * package as well (about 80 ms of each worker's start; docs/performance.md). Building a `Response`
 * loads the runtime's undici, which installs an `Agent` as the global dispatcher under undici's
 * cross-version symbol unless one is there already (the undici package, imported first, installs
 * its own; that works too). Read once, before any client module could replace the global
 * dispatcher; where no `Agent` is there, the undici package's.
 */
export function runtimeAgentClass(): AgentClass {
  if (agentClass) return agentClass
  void new Response(null)
  const installed = (globalThis as Record<symbol, { constructor?: unknown } | undefined>)[GLOBAL_DISPATCHER]?.constructor
  agentClass =
    typeof installed === 'function' && installed.name === 'Agent'
      ? (installed as AgentClass)
      : (createRequire(import.meta.url)('undici') as { Agent: AgentClass }).Agent
  return agentClass
}

/**
 * The refresh token a refresh call's body carries, as JSON (`{"refresh_token": …}`, or camelCase)
 * or as a form (`grant_type=refresh_token&refresh_token=…`).
 */
export function refreshTokenIn(body: string): string | undefined {
  const json = safeJson(body) as { refresh_token?: unknown; refreshToken?: unknown } | null
  if (json !== null && typeof json === 'object') {
    const token = json.refresh_token ?? json.refreshToken
    return typeof token === 'string' ? token : undefined
  }
  const form = new URLSearchParams(body).get('refresh_token')
  return form ?? undefined
}

/** fetch hides the reason in `cause`; surface it (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
export function describeFetchError(error: Error): string {
  const cause = error.cause as { code?: string; message?: string } | undefined
  return cause?.code ?? cause?.message ?? error.message
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
  }
}
