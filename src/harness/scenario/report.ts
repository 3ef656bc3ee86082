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
  /** `must`: a failure fails the run; `should`: a failure is `non-strict` unless the run is `--strict`. */
  level: 'must' | 'should'
  /**
   * `fail` for a failed expectation (a `should` one only with `--strict`), `non-strict` for a failed
   * `should` scenario, `error` when the scenario could not reach a verdict (the client exited or
   * stopped answering, or the server refused a step).
   */
  verdict: 'pass' | 'fail' | 'non-strict' | 'error'
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
  /** With `--strict`, a failed `should` scenario fails the run too. */
  strict: boolean
  /** `failed` counts `fail` and `error` verdicts; `nonStrict` the failed `should` scenarios that did not fail the run. */
  summary: { total: number; passed: number; failed: number; nonStrict: number }
  scenarios: ScenarioResult[]
  durationMs: number
}

export const RUN_SCHEMA = 'refresh-lab/run@1'

/** One row a scenario, and under a failure the expectation that failed with expected vs actual. */
export function formatRunReport(report: RunReport): string {
  const nameWidth = Math.max(8, ...report.scenarios.map((s) => s.name.length)) + 2
  const header = `  ${'scenario'.padEnd(nameWidth)}${'level'.padEnd(8)}${'verdict'.padEnd(12)}${'refreshes'.padEnd(11)}${'reuse'.padEnd(8)}time`
  const lines = [
    `refresh-lab run: ${report.scenarios.length} scenario${report.scenarios.length === 1 ? '' : 's'} through the ${report.client} client, ${report.url}${report.embedded ? ' (embedded)' : ''}`,
    '',
    header,
  ]
  for (const result of report.scenarios) {
    const refreshes =
      result.clientCounts === 'unavailable' || result.refresh.clientCalls === result.refresh.serverCalls
        ? String(result.refresh.serverCalls)
        : `${result.refresh.clientCalls}/${result.refresh.serverCalls}`
    const reuse = result.reuse.detected ? 'yes' : result.refresh.graceReuses > 0 ? 'grace' : 'no'
    const verdict = { pass: 'pass', fail: 'FAIL', 'non-strict': 'non-strict', error: 'ERROR' }[result.verdict]
    lines.push(
      `  ${result.name.padEnd(nameWidth)}${result.level.padEnd(8)}${verdict.padEnd(12)}${refreshes.padEnd(11)}${reuse.padEnd(8)}${Math.round(result.durationMs)} ms`,
    )
    const under = `  ${''.padEnd(nameWidth)}↳ `
    const cause = result.verdict === 'pass' ? undefined : causeOf(result.description)
    if (result.verdict === 'error') lines.push(`${under}${result.error ?? 'could not run'}`)
    for (const failed of result.expectations.filter((e) => !e.pass)) {
      const failures =
        failed.name.includes('succeeded') && result.requests.failed > 0 ? ` (${formatFailures(result.requests.failures)})` : ''
      lines.push(`${under}${describeFailures([failed])}${failures}`)
    }
    if (cause !== undefined) lines.push(`${under}why it matters: ${cause}`)
    if (result.verdict !== 'pass') {
      for (const note of result.notes) lines.push(`${under}note: ${note}`)
      if (result.clientOutput !== undefined)
        lines.push(`${under}the client printed:`, ...indent(result.clientOutput, 6).map((line) => `  ${''.padEnd(nameWidth)}${line}`))
    }
  }
  const { total, passed, failed, nonStrict } = report.summary
  const lenient = nonStrict === 0 ? '' : `, ${nonStrict} non-strict (should-level; --strict fails on them)`
  lines.push(
    '',
    `${report.verdict === 'pass' ? 'PASS' : 'FAIL'}  ${total} scenario${total === 1 ? '' : 's'}: ${passed} passed, ${failed} failed${lenient}`,
  )
  return lines.join('\n')
}

/**
 * The sentence of a scenario's description that says what a wrong client does ("A client that …"),
 * printed under its failure; none when the description has no such sentence.
 */
export function causeOf(description: string): string | undefined {
  const sentences = description.match(/[^.!?]+[.!?]+(?=\s|$)/g) ?? []
  return sentences
    .map((sentence) => sentence.trim())
    .find((sentence) => /^an? (?:[\w-]+ ){0,2}client (that|whose|without|which|with)\b/i.test(sentence) && !/\bpass(es)?\b/.test(sentence))
}
