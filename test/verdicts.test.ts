import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import type { RunReport, ScenarioResult } from '../src/harness/scenario/report.js'
import { runCli } from './support/cli.js'

/**
 * No false alarms, no misses: correct clients that make other choices than ours pass every
 * must-level scenario; cross-tab safety is a should; the verdict says why a scenario matters.
 */
async function runJson(args: string[]): Promise<{ code: number | null; report: RunReport }> {
  const result = await runCli(['run', ...args, '--json'])
  return { code: result.code, report: JSON.parse(result.stdout) as RunReport }
}

const byName = (report: RunReport, name: string) => report.scenarios.find((s) => s.name === name) as ScenarioResult
const notPassing = (report: RunReport) => report.scenarios.filter((s) => s.verdict !== 'pass').map((s) => `${s.name}: ${s.verdict}`)

describe('correct clients with other choices pass every must scenario', () => {
  it("one that rejects with the request's own 401 after a refused refresh", async () => {
    const { code, report } = await runJson(['--client', 'test/clients/correct/own-401.ts'])
    expect(notPassing(report)).toEqual(['two-tabs-strict: non-strict'])
    expect(code).toBe(0)
    expect(byName(report, 'logout-revokes').requests.failures).toEqual({ TOKEN_REVOKED: 1 })
    expect(byName(report, 'refresh-expired').requests.failures).toEqual({ TOKEN_EXPIRED: 1 })
  }, 60_000)

  it('one that retries a dropped refresh and recovers', async () => {
    const { code, report } = await runJson(['--client', 'test/clients/correct/retries-dropped-refresh.ts'])
    expect(notPassing(report)).toEqual(['two-tabs-strict: non-strict'])
    expect(code).toBe(0)
    expect(byName(report, 'refresh-network-error').requests).toMatchObject({ succeeded: 2, failed: 0 })
  }, 60_000)

  it('one that signs out on TOKEN_REVOKED without refreshing', async () => {
    const { code, report } = await runJson(['--client', 'test/clients/correct/signs-out-on-revoked.ts'])
    expect(notPassing(report)).toEqual(['two-tabs-strict: non-strict'])
    expect(code).toBe(0)
    expect(byName(report, 'refresh-rejected')).toMatchObject({ refresh: { serverCalls: 0 }, onLogoutCalls: 1 })
  }, 60_000)

  it('a Web Locks client is cross-tab safe: it passes two-tabs-strict too, even with --strict', async () => {
    const { code, report } = await runJson(['--client', 'test/clients/web-locks-client.ts', '--strict'])
    expect(notPassing(report)).toEqual([])
    expect(report).toMatchObject({ strict: true, summary: { total: 20, passed: 20, failed: 0, nonStrict: 0 } })
    expect(code).toBe(0)
  }, 60_000)
})

describe('levels', () => {
  it('a failed should is non-strict: exit 0, shown in the table and counted; --strict makes it fail, exit 1', async () => {
    const lenient = await runCli(['run', 'burst', 'two-tabs-strict'])
    expect(lenient.code).toBe(0)
    expect(lenient.stdout).toMatch(/two-tabs-strict\s+should\s+non-strict\s+2\s+yes/)
    expect(lenient.stdout).toContain('PASS  2 scenarios: 1 passed, 0 failed, 1 non-strict (should-level; --strict fails on them)')

    const { code, report } = await runJson(['burst', 'two-tabs-strict', '--strict'])
    expect(code).toBe(1)
    expect(report.scenarios.map((s) => [s.name, s.level, s.verdict])).toEqual([
      ['burst', 'must', 'pass'],
      ['two-tabs-strict', 'should', 'fail'],
    ])
    expect(report).toMatchObject({ verdict: 'fail', strict: true, summary: { total: 2, passed: 1, failed: 1, nonStrict: 0 } })
  })

  it('a failing scenario says why it matters, from its description', async () => {
    const result = await runCli(['run', 'retry-still-401', '--client', 'retry-forever'])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(
      '↳ why it matters: A client that refreshes again whenever the retry fails loops for ever, hammering /refresh.',
    )
    expect(result.stdout).toMatch(/↳ refresh calls \(server\): expected ≤ 1, got \d+/)
  })
})

describe('burst --reporter junit', () => {
  it('writes one testcase with the failed expectations, a timestamp and the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const output = join(dir, 'burst.xml')
    const result = await runCli(['burst', '--client', 'naive', '--reporter', 'junit', '--output', output])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('refresh-lab burst: 10 parallel GET /api/users through the naive client')
    const xml = (await import('node:fs')).readFileSync(output, 'utf8')
    expect(XMLValidator.validate(xml)).toBe(true)
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: {
        testsuite: {
          name: string
          timestamp: string
          hostname: string
          testcase: { classname: string; name: string; failure: { '#text': string } }
        }
      }
    }
    const suite = parsed.testsuites.testsuite
    expect(suite).toMatchObject({
      name: 'refresh-lab burst: naive client',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
    })
    expect(suite.testcase).toMatchObject({ classname: 'refresh-lab.naive', name: 'burst 10 × GET /api/users' })
    expect(suite.testcase.failure['#text']).toContain('refresh calls (server): expected 1, got 10')
  })
})

describe('scenario files', () => {
  it('with several mistakes, all are reported in one line; a short description is no mistake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const file = join(dir, 'broken.json')
    writeFileSync(
      file,
      JSON.stringify({
        name: 'Broken',
        description: 'short',
        level: 'could',
        steps: [{ do: 'advanceClock', by: '35' }],
        expect: {},
      }),
    )
    const result = await runCli(['run', file, '--client', 'reference'])
    expect(result.code).toBe(2)
    const line = result.stderr.trim()
    expect(line.split('\n')).toHaveLength(1)
    expect(line).toContain('name: a lower-case name such as "late-401"')
    expect(line).toContain('level: ')
    expect(line).toContain('steps[0].by: ')
    expect(line).not.toContain('description')
  })
})
