import { indent } from '../burst-report.js'
import { describeFailures, type Expectation } from '../expectations.js'
import { formatFailures } from '../outcomes.js'
import type { SessionState } from '../session-state.js'
import type { TimelineRow } from '../timeline.js'

/**
 * One scenario's result inside the `refresh-lab/run@1` report: the same counts a burst reports,
 * plus which expectations held. Fields are only ever added within a schema version.
 */
export interface ScenarioResult {
  name: string
  description: string
  file: string
  /** `error` when the scenario could not run at all (e.g. the server refused a step). */
  verdict: 'pass' | 'fail' | 'error'
  error?: string
  requests: { total: number; succeeded: number; failed: number; failures: Record<string, number> }
  refresh: { clientCalls: number; serverCalls: number; succeeded: number; rejected: number; graceReuses: number; faulted: number }
  reuse: { detected: boolean; count: number; replays: number }
  loggedOut: boolean
  onLogoutCalls: number
  session: SessionState
  /** Every HTTP call the client made, and those refused past the call bound. */
  calls: { made: number; refused: number }
  /** `unavailable` when the client's calls bypassed `ctx.fetch`: client-side counts are 0 and unchecked. */
  clientCounts: 'recorded' | 'unavailable'
  expectations: Expectation[]
  /** Things the reader should know about how the verdict was reached. */
  notes: string[]
  /** What the client printed on stdout and stderr, for a verdict that is not `pass`. */
  clientOutput?: string
  durationMs: number
  timeline?: TimelineRow[]
}

export interface RunReport {
  schema: 'refresh-lab/run@1'
  verdict: 'pass' | 'fail'
  client: string
  url: string
  embedded: boolean
  summary: { total: number; passed: number; failed: number }
  scenarios: ScenarioResult[]
  durationMs: number
}

export const RUN_SCHEMA = 'refresh-lab/run@1'

/** One row a scenario, and under a failure the expectation that failed with expected vs actual. */
export function formatRunReport(report: RunReport): string {
  const nameWidth = Math.max(8, ...report.scenarios.map((s) => s.name.length)) + 2
  const header = `  ${'scenario'.padEnd(nameWidth)}${'verdict'.padEnd(9)}${'refreshes'.padEnd(11)}${'reuse'.padEnd(8)}time`
  const lines = [
    `refresh-lab run: ${report.scenarios.length} scenario${report.scenarios.length === 1 ? '' : 's'} through the ${report.client} client, ${report.url}${report.embedded ? ' (embedded)' : ''}`,
    '',
    header,
  ]
  for (const result of report.scenarios) {
    const refreshes = result.clientCounts === 'unavailable' || result.refresh.clientCalls === result.refresh.serverCalls ? String(result.refresh.serverCalls) : `${result.refresh.clientCalls}/${result.refresh.serverCalls}`
    const reuse = result.reuse.detected ? 'yes' : result.refresh.graceReuses > 0 ? 'grace' : 'no'
    const verdict = result.verdict === 'pass' ? 'pass' : result.verdict === 'fail' ? 'FAIL' : 'ERROR'
    lines.push(`  ${result.name.padEnd(nameWidth)}${verdict.padEnd(9)}${refreshes.padEnd(11)}${reuse.padEnd(8)}${Math.round(result.durationMs)} ms`)
    const under = `  ${''.padEnd(nameWidth)}↳ `
    if (result.verdict === 'error') lines.push(`${under}${result.error ?? 'could not run'}`)
    for (const failed of result.expectations.filter((e) => !e.pass)) {
      const failures = failed.name.includes('succeeded') && result.requests.failed > 0 ? ` (${formatFailures(result.requests.failures)})` : ''
      lines.push(`${under}${describeFailures([failed])}${failures}`)
    }
    if (result.verdict !== 'pass') {
      for (const note of result.notes) lines.push(`${under}note: ${note}`)
      if (result.clientOutput !== undefined) lines.push(`${under}the client printed:`, ...indent(result.clientOutput, 6).map((line) => `  ${''.padEnd(nameWidth)}${line}`))
    }
  }
  const { total, passed, failed } = report.summary
  lines.push('', `${report.verdict === 'pass' ? 'PASS' : 'FAIL'}  ${total} scenario${total === 1 ? '' : 's'}: ${passed} passed, ${failed} failed`)
  return lines.join('\n')
}
