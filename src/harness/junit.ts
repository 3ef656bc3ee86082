import { describeFailures } from './expectations.js'
import { formatFailures } from './outcomes.js'
import type { RunReport } from './scenario/report.js'

/**
 * JUnit XML for a run: one testsuite per client, one testcase per scenario, a failure carrying the
 * expectations that failed. GitHub Actions and GitLab test reports read this shape.
 */
export function toJUnit(report: RunReport): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3)
  const failures = report.scenarios.filter((s) => s.verdict === 'fail').length
  const errors = report.scenarios.filter((s) => s.verdict === 'error').length
  const classname = `refresh-lab.${className(report.client)}`
  const cases = report.scenarios.map((scenario) => {
    const open = `    <testcase classname="${xml(classname)}" name="${xml(scenario.name)}" time="${seconds(scenario.durationMs)}"`
    if (scenario.verdict === 'pass') return `${open}/>`
    const failed = scenario.expectations.filter((e) => !e.pass)
    const failures = Object.keys(scenario.requests.failures).length === 0 ? [] : [`failed requests: ${formatFailures(scenario.requests.failures)}`]
    const detail = [scenario.description, '', ...failed.map((e) => `${e.name}: expected ${String(e.expected)}, got ${String(e.actual)}`), ...failures, ...scenario.notes.map((note) => `note: ${note}`)].join('\n')
    const inner =
      scenario.verdict === 'error'
        ? `      <error message="${xml(scenario.error ?? 'could not run')}">${xml([scenario.error ?? '', ...failures].join('\n'))}</error>`
        : `      <failure message="${xml(describeFailures(scenario.expectations))}" type="ExpectationFailed">${xml(detail)}</failure>`
    const output = scenario.clientOutput === undefined ? '' : `\n      <system-out>${xml(scenario.clientOutput)}</system-out>`
    return `${open}>\n${inner}${output}\n    </testcase>`
  })
  const totals = `tests="${report.scenarios.length}" failures="${failures}" errors="${errors}" time="${seconds(report.durationMs)}"`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="refresh-lab" ${totals}>`,
    `  <testsuite name="refresh-lab run: ${xml(report.client)} client" ${totals}>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // Characters XML 1.0 cannot carry at all.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
}

/** A JUnit class name from a client name: `./src/lib/refresh-client.ts` → `src.lib.refresh-client`. */
export function className(client: string): string {
  const name = client
    .replace(/^exec:\s*/, 'exec ')
    .replace(/^\.{0,2}[\\/]+/, '')
    .replace(/\.[cm]?[jt]s$/, '')
  return name.replace(/[\\/]+/g, '.').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+|\.+$/g, '') || 'client'
}
