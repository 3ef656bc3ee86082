/**
 * The time axis: one row per request, a bar from the start to the end of each call, the wait on a
 * refresh drawn as a link to the refresh bar it waited for, the retry, and a red mark where a
 * rotated refresh token was spent again. Drawn by the lab page (live, from the server's events) and
 * by the HTML report (from the calls the harness recorded); both turn their data into `AxisRow`s
 * and call `drawTimeAxis`. No DOM and no Node here: it returns HTML text, so the page sets it and
 * the report writes it (docs/design.md, "The time axis").
 */
import type { LabEvent } from './wire.js'

export interface AxisBar {
  /** `attempt`: a request's first call; `retry`: any later one; `refresh`: a call to the refresh route; `call`: anything else. */
  kind: 'attempt' | 'retry' | 'refresh' | 'call'
  /** Milliseconds on any one clock shared by every row. */
  start: number
  /** Absent while the call is still waiting for its answer. */
  end?: number
  /** The HTTP status, or what happened instead (`dropped`, `ECONNRESET`, `pending`). */
  status: string
  code?: string
  /** A rotated refresh token spent again: drawn with a red mark. */
  reuse?: boolean
}

export interface AxisWait {
  from: number
  to: number
  /** The id of the refresh row it waited on; none when the request retried with a token already stored. */
  refresh?: string
}

export interface AxisRow {
  /** Unique among the rows drawn together; a wait links to a refresh row by it. */
  id: string
  kind: 'request' | 'refresh' | 'session'
  label: string
  bars: AxisBar[]
  waits: AxisWait[]
  /** How the request ended for the client, when known: `ok` or an error code. */
  outcome?: string
}

export interface AxisWindow {
  from: number
  to: number
}

export interface DrawOptions {
  /** Only the rows with a call inside it, scaled to it. */
  window?: AxisWindow
  /** Prefixes element ids, so several axes can share a page. */
  idPrefix?: string
  /** Names the axis for assistive technology. */
  label?: string
}

/** Ends drawn by a call still under way (or a refresh never answered): as far as the axis reaches. */
const endOf = (bar: AxisBar, fallback: number) => bar.end ?? fallback

/**
 * The axis as HTML: a scale, then one `role="listitem"` row per request or refresh, oldest first.
 * Every bar carries `data-kind`, `data-start`, `data-end` (ms from the axis's origin) and
 * `data-status`, so tests and scripts can read what is drawn.
 */
export function drawTimeAxis(rows: readonly AxisRow[], options: DrawOptions = {}): string {
  const prefix = options.idPrefix ?? 'ta-'
  const window = options.window
  const shown = window ? rows.filter((row) => row.bars.some((bar) => bar.start <= window.to && endOf(bar, bar.start) >= window.from)) : rows
  let from = window?.from ?? Number.POSITIVE_INFINITY
  let to = window?.to ?? Number.NEGATIVE_INFINITY
  if (!window) {
    for (const row of shown) {
      for (const bar of row.bars) {
        if (bar.start < from) from = bar.start
        if (endOf(bar, bar.start) > to) to = endOf(bar, bar.start)
      }
    }
  }
  const label = escapeHtml(options.label ?? 'Calls on a time axis')
  if (shown.length === 0 || !Number.isFinite(from)) {
    return `<div class="ta" role="list" aria-label="${label}" data-rows="0"><p class="ta-empty">No calls to draw yet.</p></div>`
  }
  const span = Math.max(to - from, 0.001)
  const x = (t: number) => clamp(((t - from) / span) * 100)
  const rel = (t: number) => String(Math.round((t - from) * 1000) / 1000)
  const ids = new Set(shown.map((row) => row.id))
  const refreshNumbers = new Map(shown.filter((row) => row.kind === 'refresh').map((row, index) => [row.id, index + 1]))

  const parts: string[] = [
    `<div class="ta" role="list" aria-label="${label}" data-rows="${shown.length}" data-from="${from}" data-to="${to}">`,
    `<div class="ta-scale" aria-hidden="true"><span class="ta-label"></span><span class="ta-track">`,
  ]
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const minor = tick === 0.25 || tick === 0.75 ? ' ta-minor' : ''
    parts.push(`<span class="ta-tick${minor}" style="left:${tick * 100}%">${formatMs(span * tick)}</span>`)
  }
  parts.push('</span></div>')

  for (const row of shown) {
    const summary: string[] = []
    const track: string[] = []
    for (const wait of row.waits) {
      const style = `left:${x(wait.from)}%;width:${Math.max(x(wait.to) - x(wait.from), 0)}%`
      if (wait.refresh !== undefined && ids.has(wait.refresh)) {
        const n = refreshNumbers.get(wait.refresh)
        const text = `waited for refresh #${n}`
        summary.push(text)
        track.push(
          `<a class="ta-wait" data-kind="wait" data-refresh="${escapeHtml(wait.refresh)}" href="#${escapeHtml(prefix + wait.refresh)}" style="${style}" title="${text}, ${formatMs(wait.to - wait.from)}" aria-label="${text}"></a>`,
        )
      } else {
        summary.push('retried with the stored token')
        track.push(
          `<span class="ta-wait ta-stored" data-kind="wait" style="${style}" title="retried with the token already stored"></span>`,
        )
      }
    }
    for (const bar of row.bars) {
      const end = endOf(bar, to)
      const left = x(bar.start)
      const status = bar.code ? `${bar.status} ${bar.code}` : bar.status
      const timing = `${formatMs(bar.start - from)}–${bar.end === undefined ? '…' : formatMs(bar.end - from)}`
      const name = bar.kind === 'refresh' ? 'refresh' : bar.kind
      summary.push(`${name} ${status} at ${timing}`)
      const ok = /^2\d\d$/.test(bar.status)
      const classes = `ta-bar ta-${bar.kind} ${ok ? 'ta-ok' : 'ta-fail'}`
      track.push(
        `<span class="${classes}" data-kind="${bar.kind}" data-start="${rel(bar.start)}" data-end="${bar.end === undefined ? '' : rel(bar.end)}" data-status="${escapeHtml(bar.status)}" style="left:${left}%;width:${Math.max(x(end) - left, 0)}%" title="${escapeHtml(`${name} ${status}, ${timing}`)}"><span class="ta-text">${escapeHtml(bar.status)}</span></span>`,
      )
      if (bar.reuse) {
        summary.push('rotated refresh token spent again')
        track.push(
          `<span class="ta-reuse" data-kind="reuse" style="left:${left}%" title="a rotated refresh token spent again: the session is revoked">✖</span>`,
        )
      }
    }
    if (row.outcome !== undefined) summary.push(row.outcome === 'ok' ? 'ended ok' : `ended with ${row.outcome}`)
    const number = refreshNumbers.get(row.id)
    const title = row.kind === 'refresh' ? `⟳ #${number} ${row.label}` : row.label
    // The row's name says in words what its track draws, for a screen reader.
    parts.push(
      `<div class="ta-row ta-row-${row.kind}" role="listitem" id="${escapeHtml(prefix + row.id)}" data-row-kind="${row.kind}"${row.outcome === undefined ? '' : ` data-outcome="${escapeHtml(row.outcome)}"`} aria-label="${escapeHtml(`${title}: ${summary.join('; ')}`)}">`,
      `<span class="ta-label" title="${escapeHtml(title)}">${escapeHtml(title)}</span>`,
      `<span class="ta-track">${track.join('')}</span>`,
      '</div>',
    )
  }
  parts.push('</div>')
  return parts.join('')
}

/** The styles `drawTimeAxis`'s HTML needs; the page and the report each inline them once. */
export const TIME_AXIS_CSS = `
.ta { --ta-ok: #1a7f37; --ta-fail: #b35900; --ta-refresh: #0969da; --ta-reuse: #cf222e; --ta-muted: #6e7781;
  font-size: .78rem; font-family: ui-monospace, monospace; border: 1px solid #8884; border-radius: .4rem; padding: .25rem .4rem;
  overflow-x: hidden; }
.ta-row, .ta-scale { display: grid; grid-template-columns: minmax(4.5rem, 11rem) 1fr; gap: .4rem; align-items: center; min-height: 1.25rem; }
.ta-scale { position: sticky; top: 0; background: Canvas; color: var(--ta-muted); z-index: 2; border-bottom: 1px solid #8884; }
.ta-row + .ta-row { border-top: 1px dotted #8883; }
.ta-row { content-visibility: auto; contain-intrinsic-size: auto 1.3rem; }
.ta-row:target { background: #0969da22; }
.ta-row-refresh .ta-label { color: var(--ta-refresh); font-weight: 700; }
.ta-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ta-track { position: relative; height: 1.1rem; margin-right: 1.6rem; }
.ta-tick { position: absolute; top: 0; font-size: .7rem; white-space: nowrap; transform: translateX(-50%); }
.ta-tick:first-child { transform: none; } .ta-tick:last-child { transform: translateX(-100%); }
.ta-bar { position: absolute; top: .2rem; height: .7rem; min-width: 2px; border-radius: 2px; }
.ta-bar.ta-ok { background: var(--ta-ok); } .ta-bar.ta-fail { background: var(--ta-fail); }
.ta-bar.ta-refresh { top: 0; height: 1.1rem; background: var(--ta-refresh); box-shadow: 0 0 0 1px #fff8 inset; }
.ta-bar.ta-refresh.ta-fail { background: repeating-linear-gradient(135deg, var(--ta-refresh) 0 4px, var(--ta-fail) 4px 8px); }
.ta-text { position: absolute; left: calc(100% + 2px); top: -.2rem; font-size: .68rem; color: var(--ta-muted); white-space: nowrap; }
.ta-bar.ta-refresh .ta-text { top: 0; }
.ta-wait { position: absolute; top: .5rem; height: 0; border-top: 2px dashed var(--ta-refresh); min-width: 2px; }
a.ta-wait:focus-visible { outline: 3px solid var(--ta-refresh); outline-offset: 2px; }
.ta-wait.ta-stored { border-top-color: var(--ta-muted); }
.ta-reuse { position: absolute; top: -.05rem; transform: translateX(-110%); color: #fff; background: var(--ta-reuse); border-radius: 50%;
  width: 1.1rem; height: 1.1rem; line-height: 1.1rem; text-align: center; font-weight: 700; font-size: .7rem; z-index: 1; }
.ta-empty { color: var(--ta-muted); margin: .25rem 0; font-family: system-ui, sans-serif; }
@media (max-width: 480px) { .ta-row, .ta-scale { grid-template-columns: 5.5rem 1fr; } .ta { font-size: .72rem; } .ta-minor { display: none; } }
`

/**
 * The time axis's rows from the lab's event log: every `request` event with times is a call. A
 * call to the refresh route is a refresh row (reuse-marked when refused with
 * `REFRESH_TOKEN_REUSED`); a sign-in or sign-out a session row. HTTP carries no request identity,
 * so a retry is paired with the oldest unanswered 401 of the same session and route, and linked to
 * the last successful refresh that ended between that 401's answer and the retry's start (none:
 * it retried with a token already stored). The harness's report knows the pairs exactly.
 */
export function axisFromLabEvents(events: readonly LabEvent[], refreshRoutes: readonly string[]): AxisRow[] {
  const rows: AxisRow[] = []
  const refreshes: { id: string; start: number; end: number }[] = []
  /** Rows whose last call was a 401, by session and route, oldest first. */
  const waiting = new Map<string, AxisRow[]>()
  for (const event of events) {
    if (event.type !== 'request' || event.startMs === undefined || event.endMs === undefined) continue
    const route = event.route ?? 'unmatched'
    const status = event.status === 0 || event.status === undefined ? 'dropped' : String(event.status)
    const bar: AxisBar = { kind: 'call', start: event.startMs, end: event.endMs, status }
    if (event.code !== undefined) bar.code = event.code
    const id = `e${event.id}`
    if (refreshRoutes.includes(route)) {
      bar.kind = 'refresh'
      if (event.code === 'REFRESH_TOKEN_REUSED') bar.reuse = true
      rows.push({ id, kind: 'refresh', label: event.family === undefined ? 'refresh' : `refresh ${event.family}`, bars: [bar], waits: [] })
      if (event.status === 200) refreshes.push({ id, start: event.startMs, end: event.endMs })
      continue
    }
    if (/ \/(api\/auth|oauth)\//.test(route)) {
      rows.push({ id, kind: 'session', label: route, bars: [bar], waits: [] })
      continue
    }
    const key = `${event.family ?? '?'} ${route}`
    // A call of no known session, or refused for an expired token, is a request of its own; any
    // other call is the retry of the oldest 401 of its session and route answered before it started.
    const queue = waiting.get(key)
    const index =
      event.family === undefined || event.code === 'TOKEN_EXPIRED' || queue === undefined
        ? -1
        : queue.findIndex((r) => (r.bars.at(-1)?.end ?? 0) <= bar.start)
    const row = index < 0 ? undefined : queue?.splice(index, 1)[0]
    if (queue?.length === 0) waiting.delete(key)
    if (row) {
      bar.kind = 'retry'
      const from = row.bars.at(-1)?.end ?? event.startMs
      const to = bar.start
      const joined = refreshes.findLast((r) => r.end >= from && r.end <= to)
      row.waits.push(joined ? { from, to, refresh: joined.id } : { from, to })
      row.bars.push(bar)
    } else {
      bar.kind = 'attempt'
      rows.push({ id, kind: 'request', label: route, bars: [bar], waits: [] })
    }
    const owner = row ?? rows.at(-1)
    if (owner && event.status === 401) {
      const list = waiting.get(key) ?? []
      list.push(owner)
      waiting.set(key, list)
    }
  }
  // Logged as answered; drawn as started, like a browser's network panel.
  return rows.sort((a, b) => (a.bars[0]?.start ?? 0) - (b.bars[0]?.start ?? 0))
}

/**
 * The last burst: the calls after the last quiet gap of `gapMs` or more, where nothing was under way.
 * Undefined when there is nothing to draw.
 */
export function lastBurst(rows: readonly AxisRow[], gapMs = 1000): AxisWindow | undefined {
  const spans = rows.flatMap((row) => row.bars.map((bar) => [bar.start, endOf(bar, bar.start)] as const)).sort((a, b) => a[0] - b[0])
  const first = spans[0]
  if (!first) return undefined
  let from = first[0]
  let reach = first[1]
  for (const [start, end] of spans) {
    if (start - reach >= gapMs) from = start
    if (end > reach) reach = end
  }
  return { from, to: reach }
}

function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}

function clamp(percent: number): number {
  return Math.round(Math.min(100, Math.max(0, percent)) * 100) / 100
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}
