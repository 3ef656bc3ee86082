import type { FetchRecord } from './recording-fetch.js'

/** What happened to one harness request, call by call. */
export interface TimelineRow {
  request: string
  steps: TimelineStep[]
}

export interface TimelineStep {
  kind: 'attempt' | 'refresh' | 'retry' | 'waited'
  /** Milliseconds since the run's first call. */
  at: number
  until?: number
  status?: number | string
  /** For `waited`: the refresh it waited on (1-based among refresh calls), or none (retried with a stored token). */
  refresh?: number
}

/**
 * Turns recorded calls into one row per request: its first attempt, the refresh it sent or waited
 * on, and its retry. This is the picture the silent-refresh lesson draws by hand, taken from what
 * really happened.
 */
export function buildTimeline(calls: readonly FetchRecord[]): TimelineRow[] {
  const refreshes = calls.filter((call) => call.refresh)
  const rows = new Map<string, TimelineRow>()
  for (const call of calls) {
    const id = call.requestId ?? '?'
    let row = rows.get(id)
    if (!row) rows.set(id, (row = { request: id, steps: [] }))
    const previous = row.steps.at(-1)
    const status = call.status ?? call.error ?? 'pending'
    const span = { at: call.startedAt, ...(call.endedAt === undefined ? {} : { until: call.endedAt }), status }
    if (call.refresh) {
      row.steps.push({ kind: 'refresh', refresh: refreshes.indexOf(call) + 1, ...span })
      continue
    }
    if (previous && previous.status === 401 && previous.kind !== 'refresh') {
      // A retry after a 401 without a refresh of its own: it waited on someone else's, or on none.
      const waitedOn = refreshes.find((r) => r.startedAt <= call.startedAt && (r.endedAt ?? Infinity) >= (previous.until ?? 0))
      row.steps.push({ kind: 'waited', at: previous.until ?? call.startedAt, ...(waitedOn ? { refresh: refreshes.indexOf(waitedOn) + 1 } : {}) })
    }
    row.steps.push({ kind: row.steps.length === 0 ? 'attempt' : 'retry', ...span })
  }
  return [...rows.values()]
}

/** A compact text sequence diagram, one line per request, at most `limit` requests. */
export function formatTimeline(rows: readonly TimelineRow[], limit = 20): string {
  const ms = (n: number | undefined) => (n === undefined ? '…' : n < 10 ? n.toFixed(1) : String(Math.round(n)))
  const lines = rows.slice(0, limit).map((row) => {
    const parts = row.steps.map((step) => {
      switch (step.kind) {
        case 'attempt':
          return `${ms(step.at)}→${ms(step.until)} ${step.status}`
        case 'refresh':
          return `⟳ refresh #${step.refresh} ${ms(step.at)}→${ms(step.until)} ${step.status}`
        case 'waited':
          return step.refresh === undefined ? 'retried with the stored token' : `waited for ⟳ #${step.refresh}`
        case 'retry':
          return `retry ${ms(step.at)}→${ms(step.until)} ${step.status}`
      }
    })
    return `  ${row.request.padEnd(8)} ${parts.join('  │  ')}`
  })
  if (rows.length > limit) lines.push(`  … ${rows.length - limit} more requests`)
  return ['timeline (ms since the first call; ⟳ = POST /refresh)', ...lines].join('\n')
}
