import type { FetchRecord } from './recording-fetch.js'

/** What happened to one harness request, call by call. */
export interface TimelineRow {
  request: string
  steps: TimelineStep[]
  /** How the request ended for the client: `ok`, or the error code it was rejected with. */
  outcome?: string
}

export interface TimelineStep {
  kind: 'attempt' | 'refresh' | 'retry' | 'waited'
  /** Milliseconds since the run's first call. */
  at: number
  until?: number
  status?: number | string
  /** For `waited`: the refresh it waited on (1-based among refresh calls), or none (retried with a stored token). */
  refresh?: number
  /** For `refresh`: it sent a refresh token an earlier refresh call of the run had sent already. */
  replay?: true
}

/**
 * Turns recorded calls into one row per request: its first attempt, the refresh it sent or waited
 * on, and its retry. This is the picture the silent-refresh lesson draws by hand, taken from what
 * really happened.
 */
export function buildTimeline(records: readonly FetchRecord[], outcomes: ReadonlyMap<string, string> = new Map()): TimelineRow[] {
  // Times from the first call, whenever the recorder was created.
  const origin = records[0]?.startedAt ?? 0
  const calls = records.map((call) => ({
    ...call,
    startedAt: call.startedAt - origin,
    ...(call.endedAt === undefined ? {} : { endedAt: call.endedAt - origin }),
  }))
  const refreshes = calls.filter((call) => call.refresh)
  const rows = new Map<string, TimelineRow>()
  const spent = new Set<string>()
  for (const call of calls) {
    const id = call.requestId ?? '?'
    let row = rows.get(id)
    if (!row) rows.set(id, (row = { request: id, steps: [] }))
    const previous = row.steps.at(-1)
    const status = call.status ?? call.error ?? 'pending'
    const span = { at: call.startedAt, ...(call.endedAt === undefined ? {} : { until: call.endedAt }), status }
    if (call.refresh) {
      const replay = call.refreshToken !== undefined && spent.has(call.refreshToken)
      if (call.refreshToken !== undefined) spent.add(call.refreshToken)
      row.steps.push({ kind: 'refresh', refresh: refreshes.indexOf(call) + 1, ...span, ...(replay ? { replay: true as const } : {}) })
      continue
    }
    if (previous && previous.status === 401 && previous.kind !== 'refresh') {
      // A retry after a 401 without a refresh of its own: it waited on someone else's, or on none.
      // It waited on a refresh only if that refresh was still running when the 401 came back and
      // had ended by the time the retry went out; otherwise the stored token was already newer.
      const waitedOn = refreshes.findLast(
        (r) => r.endedAt !== undefined && r.endedAt >= (previous.until ?? 0) && r.endedAt <= call.startedAt,
      )
      row.steps.push({
        kind: 'waited',
        at: previous.until ?? call.startedAt,
        ...(waitedOn ? { refresh: refreshes.indexOf(waitedOn) + 1 } : {}),
      })
    }
    row.steps.push({ kind: row.steps.length === 0 ? 'attempt' : 'retry', ...span })
  }
  for (const row of rows.values()) {
    // A 401 with nothing after it: if a refresh was running, the request waited on it and failed with it.
    const last = row.steps.at(-1)
    if (row.steps.length === 1 && last?.status === 401) {
      const waitedOn = refreshes.find((r) => (r.endedAt ?? Infinity) >= (last.until ?? 0) && r.startedAt <= (last.until ?? 0))
      if (waitedOn) row.steps.push({ kind: 'waited', at: last.until ?? last.at, refresh: refreshes.indexOf(waitedOn) + 1 })
    }
    const outcome = outcomes.get(row.request)
    if (outcome !== undefined) row.outcome = outcome
  }
  // Requests that made no call at all (the client threw first, or bypassed the harness's fetch).
  for (const [request, outcome] of outcomes) if (!rows.has(request)) rows.set(request, { request, steps: [], outcome })
  return [...rows.values()]
}

/** A compact text sequence diagram, one line per request, at most `limit` requests. */
export function formatTimeline(rows: readonly TimelineRow[], limit = 20): string {
  const ms = (n: number | undefined) => (n === undefined ? '…' : n < 10 ? n.toFixed(1) : String(Math.round(n)))
  const shown = rows.slice(0, limit)
  const width = Math.max(4, ...shown.map((row) => row.request.length))
  const lines = shown.map((row) => {
    const parts = row.steps.map((step) => {
      switch (step.kind) {
        case 'attempt':
          return `${ms(step.at)}→${ms(step.until)} ${step.status}`
        case 'refresh':
          return `⟳ refresh #${step.refresh} ${ms(step.at)}→${ms(step.until)} ${step.status}`
        case 'waited':
          return step.refresh === undefined ? 'retried with the stored token' : `waited for ⟳ #${step.refresh}`
        default: // 'retry', the last kind
          return `retry ${ms(step.at)}→${ms(step.until)} ${step.status}`
      }
    })
    if (row.steps.length === 0) parts.push('no HTTP call')
    if (row.outcome !== undefined) parts.push(row.outcome === 'ok' ? '→ ok' : `→ ${row.outcome}`)
    return `  ${row.request.padEnd(width)}  ${parts.join('  │  ')}`
  })
  if (rows.length > limit) lines.push(`  … ${rows.length - limit} more requests`)
  return ['timeline (ms since the first call; ⟳ = POST /refresh)', ...lines].join('\n')
}
