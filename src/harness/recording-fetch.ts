import { AsyncLocalStorage } from 'node:async_hooks'
import { Agent, fetch as undiciFetch } from 'undici'

/**
 * Which harness request a fetch call belongs to. The harness runs each `client.request()` inside
 * `requestTag.run({ id }, …)`, and async context carries the id into every call the client makes
 * for it, the refresh included, so the timeline can tell who did what.
 */
export const requestTag = new AsyncLocalStorage<{ id: string }>()


/** One call a client made through the harness's fetch. */
export interface FetchRecord {
  seq: number
  /** The harness request this call was made for (see `requestTag`). */
  requestId?: string
  method: string
  path: string
  /** Milliseconds since the recorder was created. */
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

export interface RecordingFetch {
  fetch: typeof fetch
  calls: FetchRecord[]
  /** Calls refused because `maxCalls` had been reached. */
  readonly refused: number
  /** Ends every call still in flight; the run's time bound uses it. */
  abort(reason: string): void
  close(): Promise<void>
}

/**
 * The fetch handed to clients: undici's fetch over a keep-alive pool big enough for the whole
 * burst to be in flight at once, recording every call.
 */
export interface RecordingFetchOptions {
  connections: number
  refreshPath: string
  /** Calls past this many are refused; `onLimit` is told once. */
  maxCalls?: number
  onLimit?: () => void
}

/** A call that never settles: where a looping client is parked once its run is over. */
const parked = () => new Promise<Response>(() => undefined)

export function createRecordingFetch(options: RecordingFetchOptions): RecordingFetch {
  const dispatcher = new Agent({ connections: options.connections, keepAliveTimeout: 10_000, pipelining: 1 })
  // One controller per call in flight rather than one shared signal: ten thousand listeners on a
  // single signal trip Node's leak warning.
  const inFlight = new Set<AbortController>()
  let abortReason: Error | undefined
  let refused = 0
  const calls: FetchRecord[] = []
  const origin = performance.now()

  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // Once the run is over or the budget spent, calls park instead of failing: a client that retries
    // on every error would otherwise spin in a loop that starves the event loop.
    if (abortReason) return parked()
    if (options.maxCalls !== undefined && calls.length >= options.maxCalls) {
      refused += 1
      if (refused === 1) options.onLimit?.()
      return parked()
    }
    const url = new URL(input instanceof Request ? input.url : input)
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase()
    const record: FetchRecord = {
      seq: calls.length + 1,
      method,
      path: url.pathname,
      startedAt: performance.now() - origin,
      refresh: method === 'POST' && url.pathname === options.refreshPath,
    }
    const tag = requestTag.getStore()
    if (tag) record.requestId = tag.id
    if (record.refresh && typeof init?.body === 'string') {
      const token = (safeJson(init.body) as { refresh_token?: unknown } | null)?.refresh_token
      if (typeof token === 'string') record.refreshToken = token
    }
    calls.push(record)
    const controller = new AbortController()
    const callerSignal = init?.signal
    if (callerSignal) callerSignal.addEventListener('abort', () => controller.abort(callerSignal.reason), { once: true })
    inFlight.add(controller)
    try {
      // undici's own Response type is the runtime's Response; the cast only bridges the typings.
      const response = (await undiciFetch(input as Parameters<typeof undiciFetch>[0], {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher,
        signal: controller.signal,
      })) as unknown as Response
      record.status = response.status
      return response
    } catch (error) {
      record.error = error instanceof Error ? describeFetchError(error) : String(error)
      throw error
    } finally {
      inFlight.delete(controller)
      record.endedAt = performance.now() - origin
    }
  }

  return {
    fetch: recording as typeof fetch,
    calls,
    get refused() {
      return refused
    },
    abort(reason) {
      abortReason = new Error(reason)
      for (const controller of inFlight) controller.abort(abortReason)
    },
    close: () => dispatcher.close(),
  }
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
