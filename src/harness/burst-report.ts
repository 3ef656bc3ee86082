import { describeFailures, type Expectation } from './expectations.js'
import { formatFailures } from './outcomes.js'
import { formatTimeline, type TimelineRow } from './timeline.js'

export type { Expectation } from './expectations.js'

/**
 * The burst report: the `--json` output, stable under the schema name `refresh-lab/burst@1`.
 * Fields are only ever added within a schema version, never renamed or removed.
 */
export interface BurstReport {
  schema: 'refresh-lab/burst@1'
  /** `error` when the client itself ended the run: it exited, crashed or stopped answering. */
  verdict: 'pass' | 'fail' | 'error'
  /** Why the verdict is `error`: `client exited with code 0 during request r3`. */
  error?: string
  url: string
  /** True when the harness started its own server for the run. */
  embedded: boolean
  client: string
  parallel: number
  method: string
  path: string
  requests: {
    total: number
    succeeded: number
    failed: number
    /** Failed requests by error code, e.g. `{ "REFRESH_TOKEN_REUSED": 9 }`. */
    failures: Record<string, number>
  }
  refresh: {
    /** `POST /refresh` calls the client sent, counted by the harness's fetch. */
    clientCalls: number
    /** `POST /refresh` calls the server handled, from `/_lab/stats`. */
    serverCalls: number
    succeeded: number
    rejected: number
    /** Reuses inside the reuse grace, answered with the token already issued. */
    graceReuses: number
  }
  reuse: {
    /** True when the server detected reuse of a rotated refresh token (outside any reuse grace). */
    detected: boolean
    /** Reuse detections on the server (each revokes a session). */
    count: number
    /** Refresh calls that re-sent a refresh token an earlier call of this run had already sent (inside a grace, too). */
    replays: number
  }
  /** The client called onLogout or cleared its tokens. */
  loggedOut: boolean
  onLogoutCalls: number
  /**
   * The session the client's stored tokens belong to, as the server sees it: `active`, `revoked`
   * (the client holds tokens that no longer work), `signed-out` (no tokens) or `unknown`.
   */
  session: 'active' | 'revoked' | 'signed-out' | 'unknown'
  expectations: Expectation[]
  /**
   * `unavailable` when the client's calls bypassed `ctx.fetch` (an exec client, got): client-side
   * counts are then 0 and unchecked, and the verdict rests on the server's counts.
   */
  clientCounts: 'recorded' | 'unavailable'
  /** Things the reader should know about how the verdict was reached. */
  notes: string[]
  /** What the client printed on stdout and stderr, for a verdict that is not `pass`. */
  clientOutput?: string
  durationMs: number
  /** With `--timeline`: per request, its attempt, the refresh it sent or waited on, its retry. */
  timeline?: TimelineRow[]
}

export const BURST_SCHEMA = 'refresh-lab/burst@1'

/** The human summary: a few aligned lines and a one-line verdict. */
export function formatBurstReport(report: BurstReport): string {
  const { requests, refresh, reuse } = report
  const failures = formatFailures(requests.failures)
  const clientCalls = report.clientCounts === 'recorded' ? `${refresh.clientCalls} sent by the client, ` : ''
  const rows: [string, string][] = [
    ['server', `${report.url}${report.embedded ? ' (embedded)' : ''}`],
    ['requests', `${requests.succeeded} succeeded, ${requests.failed} failed${failures ? ` (${failures})` : ''}`],
    [
      'refresh calls',
      `${clientCalls}${refresh.serverCalls} seen by the server (${refresh.succeeded} succeeded, ${refresh.rejected} rejected)`,
    ],
    [
      'token reuse',
      reuse.detected
        ? `DETECTED: ${reuse.count} by the server${report.clientCounts === 'recorded' ? `, ${reuse.replays} refresh token replay${reuse.replays === 1 ? '' : 's'} by the client` : ''}`
        : refresh.graceReuses > 0
          ? `none outside the grace (${refresh.graceReuses} inside it)`
          : 'none',
    ],
    [
      'signed in',
      report.loggedOut
        ? `no (onLogout called ${report.onLogoutCalls}×)`
        : report.session === 'active'
          ? 'yes'
          : `no: the client holds tokens, but the server says the session is ${report.session}`,
    ],
    ['time', `${Math.round(report.durationMs)} ms`],
  ]
  const lines = [
    `refresh-lab burst: ${report.parallel} parallel ${report.method} ${report.path} through the ${report.client} client, access token expired`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(14)} ${value}`),
    '',
    ...report.expectations.map(
      (e) => `  ${e.pass ? 'ok  ' : 'FAIL'} ${e.name.padEnd(30)} expected ${String(e.expected)}, got ${String(e.actual)}`,
    ),
    '',
    ...report.notes.map((note) => `  note: ${note}`),
    ...(report.notes.length > 0 ? [''] : []),
  ]
  if (report.clientOutput !== undefined) lines.push('  the client printed:', ...indent(report.clientOutput), '')
  const failed = report.expectations.filter((e) => !e.pass)
  if (report.verdict === 'error') lines.push(`ERROR  ${report.error ?? 'the client ended the run'}`)
  else
    lines.push(
      failed.length === 0
        ? `PASS  all ${report.expectations.length} expectations hold: ${refresh.serverCalls} refresh call${refresh.serverCalls === 1 ? '' : 's'} for ${report.parallel} parallel 401s`
        : `FAIL  ${describeFailures(report.expectations)}`,
    )
  if (report.timeline) lines.push('', formatTimeline(report.timeline))
  return lines.join('\n')
}

/** The client's own output, indented under the report, at most 20 lines. */
export function indent(text: string, limit = 20): string[] {
  const lines = text.split('\n')
  const shown = lines.length > limit ? ['…', ...lines.slice(-limit)] : lines
  return shown.map((line) => `    ${line}`)
}
