import { hostname } from 'node:os'
import type { BurstReport } from './burst-report.js'
import { describeFailures, type Expectation } from './expectations.js'
import { formatFailures } from './outcomes.js'
import type { RunReport } from './scenario/report.js'

/** One testcase: a scenario of a run, or the one case of a burst. */
interface JUnitCase {
  name: string
  durationMs: number
  verdict: 'pass' | 'fail' | 'non-strict' | 'error'
  description?: string
  error?: string
  expectations: Expectation[]
  failures: Record<string, number>
  notes: string[]
  clientOutput?: string
}

/**
 * JUnit XML for a run: one testsuite per client, one testcase per scenario, a failure carrying the
 * expectations that failed. A `should` scenario that failed without `--strict` is a passing
 * testcase with a note in `<system-out>`. GitHub Actions and GitLab test reports read this shape.
 */
export function toJUnit(report: RunReport, now = new Date()): string {
  const cases = report.scenarios.map((scenario): JUnitCase => ({ ...scenario, failures: scenario.requests.failures }))
  return suite(`refresh-lab run: ${report.client} client`, report.client, report.durationMs, cases, now)
}

/** JUnit XML for a burst: one testcase named after what it fired. */
export function burstToJUnit(report: BurstReport, now = new Date()): string {
  const name = `burst ${report.parallel} × ${report.method} ${report.path}`
  const testcase: JUnitCase = {
    name,
    durationMs: report.durationMs,
    verdict: report.verdict,
    ...(report.error === undefined ? {} : { error: report.error }),
    expectations: report.expectations,
    failures: report.requests.failures,
    notes: report.notes,
    ...(report.clientOutput === undefined ? {} : { clientOutput: report.clientOutput }),
  }
  return suite(`refresh-lab burst: ${report.client} client`, report.client, report.durationMs, [testcase], now)
}

function suite(name: string, client: string, durationMs: number, cases: readonly JUnitCase[], now: Date): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3)
  const failures = cases.filter((c) => c.verdict === 'fail').length
  const errors = cases.filter((c) => c.verdict === 'error').length
  const classname = `refresh-lab.${className(client)}`
  const testcases = cases.map((testcase) => {
    const open = `    <testcase classname="${xml(classname)}" name="${xml(testcase.name)}" time="${seconds(testcase.durationMs)}"`
    const failedRequests = Object.keys(testcase.failures).length === 0 ? [] : [`failed requests: ${formatFailures(testcase.failures)}`]
    const failed = testcase.expectations
      .filter((e) => !e.pass)
      .map((e) => `${e.name}: expected ${String(e.expected)}, got ${String(e.actual)}`)
    const notes = testcase.notes.map((note) => `note: ${note}`)
    const out: string[] = []
    let inner = ''
    if (testcase.verdict === 'error') {
      const detail = [testcase.error ?? '', ...(testcase.description === undefined ? [] : ['', testcase.description]), '', ...failed]
      inner = `      <error message="${xml(testcase.error ?? 'could not run')}">${xml(detail.join('\n').trim())}</error>`
    } else if (testcase.verdict === 'fail') {
      const detail = [
        ...(testcase.description === undefined ? [] : [testcase.description, '']),
        ...failed,
        ...failedRequests,
        ...notes,
      ].join('\n')
      inner = `      <failure message="${xml(describeFailures(testcase.expectations))}" type="ExpectationFailed">${xml(detail)}</failure>`
    } else if (testcase.verdict === 'non-strict') {
      out.push('non-strict: a should-level scenario failed; it fails the run only with --strict', ...failed)
    }
    // The client's own errors and what it printed, for every testcase that did not pass.
    if (testcase.verdict !== 'pass') out.push(...failedRequests, ...(testcase.verdict === 'fail' ? [] : notes))
    if (testcase.clientOutput !== undefined) out.push(...(out.length > 0 ? [''] : []), 'the client printed:', testcase.clientOutput)
    const systemOut = out.length === 0 ? '' : `      <system-out>${xml(out.join('\n'))}</system-out>`
    const body = [inner, systemOut].filter((part) => part !== '')
    return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`
  })
  const totals = `tests="${cases.length}" failures="${failures}" errors="${errors}" time="${seconds(durationMs)}"`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="refresh-lab" ${totals}>`,
    `  <testsuite name="${xml(name)}" ${totals} timestamp="${now.toISOString().slice(0, 19)}" hostname="${xml(hostname())}">`,
    ...testcases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

/** A JUnit class name from a client name: `./src/lib/refresh-client.ts` → `src.lib.refresh-client`. */
export function className(client: string): string {
  const name = client
    .replace(/^exec:\s*/, 'exec ')
    .replace(/^\.{0,2}[\\/]+/, '')
    .replace(/\.[cm]?[jt]s$/, '')
  return (
    name
      .replace(/[\\/]+/g, '.')
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^\.+|\.+$/g, '') || 'client'
  )
}

function xml(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // Characters XML 1.0 cannot carry at all.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids exactly these control characters
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
  )
}
