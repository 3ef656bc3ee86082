import { type AxisRow, type AxisWait, drawTimeAxis, escapeHtml, TIME_AXIS_CSS } from '../shared/time-axis.js'
import type { BurstReport } from './burst-report.js'
import type { Expectation } from './expectations.js'
import { formatFailures } from './outcomes.js'
import type { RunReport, ScenarioResult } from './scenario/report.js'
import type { TimelineRow } from './timeline.js'

/**
 * The HTML report of `run --reporter html` and `burst --html`: one self-contained file (inline
 * styles, no script, no request of any kind: its Content-Security-Policy forbids them) with the
 * verdict table and, per scenario, the time axis of the calls the harness recorded and the
 * expectations. The axis is drawn by `src/shared/time-axis.ts`, as on the lab page.
 */
export function runToHtml(report: RunReport, now = new Date()): string {
  const { summary } = report
  const headline = `${report.verdict === 'pass' ? 'PASS' : 'FAIL'}: ${summary.passed} of ${summary.total} scenario${summary.total === 1 ? '' : 's'} passed${summary.failed > 0 ? `, ${summary.failed} failed` : ''}${summary.nonStrict > 0 ? `, ${summary.nonStrict} non-strict` : ''}`
  const table = verdictTable(
    report.scenarios.map((scenario) => ({
      name: scenario.name,
      href: `#s-${slug(scenario.name)}`,
      level: scenario.level,
      verdict: scenario.verdict,
      refreshes: refreshCount(scenario),
      reuse: reuseText(scenario),
      failures: scenario.requests.failures,
      durationMs: scenario.durationMs,
    })),
  )
  const sections = report.scenarios.map((scenario) => scenarioSection(scenario))
  return page({
    title: `refresh-lab run: ${report.client} client`,
    verdict: report.verdict,
    headline,
    meta: `${report.scenarios.length} scenarios through the ${report.client} client, ${report.url}${report.embedded ? ' (embedded)' : ''}${report.strict ? ', --strict' : ''}; ${Math.round(report.durationMs)} ms; ${now.toISOString()}`,
    body: [table, ...sections].join('\n'),
  })
}

export function burstToHtml(report: BurstReport, now = new Date()): string {
  const name = `burst ${report.parallel} × ${report.method} ${report.path}`
  const table = verdictTable([
    {
      name,
      href: '#s-burst',
      level: 'must',
      verdict: report.verdict,
      refreshes: refreshCount(report),
      reuse: reuseText({ ...report, refresh: report.refresh }),
      failures: report.requests.failures,
      durationMs: report.durationMs,
    },
  ])
  const section = scenarioSection({
    name,
    id: 'burst',
    verdict: report.verdict,
    expectations: report.expectations,
    notes: report.notes,
    requests: report.requests,
    ...(report.error === undefined ? {} : { error: report.error }),
    ...(report.clientOutput === undefined ? {} : { clientOutput: report.clientOutput }),
    ...(report.timeline === undefined ? {} : { timeline: report.timeline }),
  })
  const failed = report.expectations.filter((e) => !e.pass).length
  return page({
    title: `refresh-lab burst: ${report.client} client`,
    verdict: report.verdict,
    headline:
      report.verdict === 'pass'
        ? `PASS: all ${report.expectations.length} expectations hold`
        : report.verdict === 'error'
          ? `ERROR: ${report.error ?? 'the client ended the run'}`
          : `FAIL: ${failed} of ${report.expectations.length} expectations failed`,
    meta: `${report.parallel} parallel ${report.method} ${report.path} through the ${report.client} client, ${report.url}${report.embedded ? ' (embedded)' : ''}; ${Math.round(report.durationMs)} ms; ${now.toISOString()}`,
    body: [table, section].join('\n'),
  })
}

/**
 * The axis rows of the calls the harness recorded: one row per request (its attempt, the wait, its
 * retry) and one per refresh call, which the requests that waited on it link to. Exact: the
 * harness knows which request each call was made for.
 */
export function axisFromTimeline(timeline: readonly TimelineRow[]): AxisRow[] {
  const rows: AxisRow[] = []
  const refreshEnds = new Map<string, number>()
  const pendingWaits: { row: AxisRow; from: number; refresh: string }[] = []
  for (const request of timeline) {
    const row: AxisRow = { id: `req-${request.request}`, kind: 'request', label: request.request, bars: [], waits: [] }
    if (request.outcome !== undefined) row.outcome = request.outcome
    let open: { from: number; refresh?: string } | undefined
    const close = (to: number) => {
      if (open === undefined) return
      const wait: AxisWait = { from: open.from, to: Math.max(to, open.from) }
      if (open.refresh !== undefined) wait.refresh = open.refresh
      row.waits.push(wait)
      open = undefined
    }
    for (const step of request.steps) {
      const lastEnd = row.bars.at(-1)?.end ?? step.at
      if (step.kind === 'refresh') {
        const id = `refresh-${step.refresh ?? rows.length}`
        const bar = {
          kind: 'refresh' as const,
          start: step.at,
          status: String(step.status ?? 'pending'),
          ...(step.until === undefined ? {} : { end: step.until }),
        }
        rows.push({
          id,
          kind: 'refresh',
          label: `by ${request.request}`,
          bars: [step.replay ? { ...bar, reuse: true } : bar],
          waits: [],
        })
        if (step.until !== undefined) refreshEnds.set(id, step.until)
        open = { from: lastEnd, refresh: id }
        continue
      }
      if (step.kind === 'waited') {
        open = { from: step.at, ...(step.refresh === undefined ? {} : { refresh: `refresh-${step.refresh}` }) }
        continue
      }
      close(step.at)
      row.bars.push({
        kind: step.kind,
        start: step.at,
        status: String(step.status ?? 'pending'),
        ...(step.until === undefined ? {} : { end: step.until }),
      })
    }
    rows.push(row)
    if (open?.refresh !== undefined) pendingWaits.push({ row, from: open.from, refresh: open.refresh })
  }
  // A request that waited on a refresh and never retried waited until that refresh ended.
  for (const { row, from, refresh } of pendingWaits) {
    const end = refreshEnds.get(refresh)
    if (end !== undefined) row.waits.push({ from, to: Math.max(end, from), refresh })
  }
  return rows.sort((a, b) => (a.bars[0]?.start ?? 0) - (b.bars[0]?.start ?? 0))
}

interface TableRow {
  name: string
  href: string
  level: string
  verdict: string
  refreshes: string
  reuse: string
  failures: Record<string, number>
  durationMs: number
}

function verdictTable(rows: readonly TableRow[]): string {
  const body = rows.map(
    (row) =>
      `<tr class="v-${row.verdict}"><th scope="row"><a href="${row.href}">${escapeHtml(row.name)}</a></th><td>${row.level}</td><td class="verdict">${verdictText(row.verdict)}</td><td>${escapeHtml(row.refreshes)}</td><td>${escapeHtml(row.reuse)}</td><td>${escapeHtml(formatFailures(row.failures) || 'none')}</td><td class="num">${Math.round(row.durationMs)} ms</td></tr>`,
  )
  return `<div class="table-wrap"><table><caption>Verdicts</caption><thead><tr><th scope="col">scenario</th><th scope="col">level</th><th scope="col">verdict</th><th scope="col">refreshes (client/server)</th><th scope="col">reuse</th><th scope="col">client errors</th><th scope="col">time</th></tr></thead><tbody>${body.join('')}</tbody></table></div>`
}

interface SectionInput {
  name: string
  id?: string
  description?: string
  level?: string
  verdict: string
  error?: string
  expectations: readonly Expectation[]
  notes: readonly string[]
  requests: { failures: Record<string, number> }
  clientOutput?: string
  timeline?: TimelineRow[]
}

function scenarioSection(scenario: SectionInput): string {
  const id = `s-${scenario.id ?? slug(scenario.name)}`
  const parts = [
    `<section class="scenario v-${scenario.verdict}" id="${id}" aria-labelledby="${id}-h">`,
    `<h2 id="${id}-h">${escapeHtml(scenario.name)} <span class="badge">${verdictText(scenario.verdict)}</span></h2>`,
  ]
  if (scenario.description !== undefined) parts.push(`<p class="description">${escapeHtml(scenario.description)}</p>`)
  if (scenario.error !== undefined) parts.push(`<p class="error">${escapeHtml(scenario.error)}</p>`)
  if (scenario.timeline !== undefined) {
    parts.push(
      drawTimeAxis(axisFromTimeline(scenario.timeline), {
        idPrefix: `${id}-`,
        label: `${scenario.name}: calls on a time axis, ms since the first call`,
      }),
    )
  } else {
    parts.push('<p class="hint">No calls recorded: the client made its calls without ctx.fetch, so only the server counted them.</p>')
  }
  parts.push(
    '<ul class="expectations">',
    ...scenario.expectations.map(
      (e) =>
        `<li class="${e.pass ? 'ok' : 'bad'}"><span class="mark">${e.pass ? 'ok' : 'FAIL'}</span> ${escapeHtml(e.name)}: expected ${escapeHtml(String(e.expected))}, got ${escapeHtml(String(e.actual))}</li>`,
    ),
    '</ul>',
  )
  if (Object.keys(scenario.requests.failures).length > 0) {
    parts.push(`<p>Failed requests: ${escapeHtml(formatFailures(scenario.requests.failures))}</p>`)
  }
  for (const note of scenario.notes) parts.push(`<p class="note">note: ${escapeHtml(note)}</p>`)
  if (scenario.clientOutput !== undefined) {
    parts.push(`<details><summary>What the client printed</summary><pre>${escapeHtml(scenario.clientOutput)}</pre></details>`)
  }
  parts.push('</section>')
  return parts.join('\n')
}

function page(input: { title: string; verdict: string; headline: string; meta: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(input.title)}</title>
<style>${REPORT_CSS}${TIME_AXIS_CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(input.title)}</h1>
<p class="headline v-${input.verdict}">${escapeHtml(input.headline)}</p>
<p class="hint">${escapeHtml(input.meta)}</p>
<p class="hint">Each row is one request: a bar per call from its start to its answer (ms since the first call), a dashed line while it waited, linking to the <b class="legend refresh">refresh</b> it waited for, and <b class="legend reuse">✖</b> where a refresh token already spent was sent again.</p>
</header>
<main>
${input.body}
</main>
</body>
</html>
`
}

const REPORT_CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #6e7781; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 1rem; max-width: 72rem; line-height: 1.4; overflow-wrap: anywhere; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
.headline { font-size: 1.15rem; font-weight: 700; margin: .25rem 0; }
.v-pass .badge, .headline.v-pass, .v-pass .verdict { color: var(--ok); }
.v-fail .badge, .headline.v-fail, .v-fail .verdict, .v-error .badge, .headline.v-error, .v-error .verdict { color: var(--bad); }
.v-non-strict .badge, .v-non-strict .verdict { color: var(--warn); }
.hint { color: var(--muted); font-size: .85rem; margin: .25rem 0; }
.legend { font-family: ui-monospace, monospace; font-size: .75rem; padding: 0 .3rem; border-radius: .25rem; color: #fff; }
.legend.refresh { background: #0969da; } .legend.reuse { background: var(--bad); }
.table-wrap { overflow-x: auto; margin: .75rem 0 1.25rem; }
table { border-collapse: collapse; width: 100%; min-width: 40rem; font-size: .85rem; overflow-wrap: normal; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.verdict { font-weight: 700; }
.scenario { border: 1px solid #8885; border-left-width: 4px; border-radius: .4rem; padding: .6rem .75rem; margin: 1rem 0; }
.scenario.v-pass { border-left-color: var(--ok); } .scenario.v-fail, .scenario.v-error { border-left-color: var(--bad); }
.scenario.v-non-strict { border-left-color: var(--warn); }
.description { margin: 0 0 .5rem; }
.error { color: var(--bad); font-weight: 600; }
.expectations { list-style: none; padding: 0; margin: .5rem 0; font-size: .85rem; }
.expectations .mark { display: inline-block; min-width: 2.6rem; font-weight: 700; font-family: ui-monospace, monospace; }
.expectations .ok .mark { color: var(--ok); } .expectations .bad { color: var(--bad); }
.note { color: var(--muted); font-size: .85rem; }
pre { white-space: pre-wrap; font-size: .8rem; }
a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
`

function verdictText(verdict: string): string {
  return { pass: 'pass', fail: 'FAIL', 'non-strict': 'non-strict', error: 'ERROR' }[verdict] ?? verdict
}

function refreshCount(result: { refresh: { clientCalls: number; serverCalls: number }; clientCounts: 'recorded' | 'unavailable' }): string {
  return result.clientCounts === 'unavailable'
    ? `–/${result.refresh.serverCalls}`
    : `${result.refresh.clientCalls}/${result.refresh.serverCalls}`
}

function reuseText(result: Pick<ScenarioResult, 'reuse'> & { refresh: { graceReuses: number } }): string {
  if (result.reuse.detected) return `detected (${result.reuse.count})`
  if (result.reuse.replays > 0) return `${result.reuse.replays} replayed`
  return result.refresh.graceReuses > 0 ? 'grace' : 'none'
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'scenario'
}
