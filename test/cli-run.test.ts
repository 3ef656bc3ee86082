import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLValidator } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunReport } from '../src/harness/scenario/report.js'
import type { LabStats } from '../src/shared/wire.js'
import { runCli, startServe, type ServeProcess } from './support/cli.js'

function expectOneLine(stderr: string, fragment: string) {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).toContain(fragment)
}

describe('refresh-lab run', () => {
  it('passes every built-in scenario with the reference client', async () => {
    const result = await runCli(['run', '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as RunReport
    expect(report).toMatchObject({
      schema: 'refresh-lab/run@1',
      verdict: 'pass',
      client: 'reference',
      summary: { total: 20, passed: 19, failed: 0, nonStrict: 1 },
    })
    // Run four at a time on their own servers, the scenarios still come back in the order given.
    expect(report.scenarios.map((s) => s.name)).toEqual([...report.scenarios.map((s) => s.name)].sort())
    expect(Object.keys(report.scenarios[0] ?? {})).toEqual(
      expect.arrayContaining([
        'name',
        'description',
        'level',
        'verdict',
        'requests',
        'refresh',
        'reuse',
        'loggedOut',
        'onLogoutCalls',
        'expectations',
        'durationMs',
      ]),
    )
  })

  it('prints a table with the failed expectation under the failing scenario, and exits 1', async () => {
    const result = await runCli(['run', 'rotation-saved', 'burst', '--client', 'access-only'])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^ {2}rotation-saved +must +FAIL +2 +yes/m)
    expect(result.stdout).toMatch(/^ +↳ reuse detected: expected no, got yes$/m)
    expect(result.stdout).toMatch(/^ {2}burst +must +pass +1 +no/m)
    expect(result.stdout).toMatch(/^FAIL {2}2 scenarios: 1 passed, 1 failed$/m)
  })

  it('writes JUnit XML to --output and still prints the table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-junit-'))
    const file = join(dir, 'report.xml')
    const result = await runCli(['run', 'burst', 'post-retry-body', '--client', 'body-lost', '--reporter', 'junit', '--output', file])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('post-retry-body')
    const xml = readFileSync(file, 'utf8')
    expect(XMLValidator.validate(xml)).toBe(true)
    expect(xml).toContain('tests="2" failures="1"')
  })

  it.each([
    [['--output', 'report.xml'], '--output writes the json, junit or html report'],
    [['--reporter', 'junit', '--output', '/nonexistent-dir/report.xml'], '--output: cannot write /nonexistent-dir/report.xml (ENOENT)'],
    [['--html', '/nonexistent-dir/report.html'], '--html: cannot write /nonexistent-dir/report.html (ENOENT)'],
    [['--json', '--reporter', 'junit'], '--json and --reporter junit ask for two different reports'],
    [['--reporter', 'json', '--timeline'], '--timeline is drawn under the table'],
  ])('refuses %j before running anything, with one line and exit 2', async (args, fragment) => {
    const result = await runCli(['run', 'burst', ...args], { cwd: mkdtempSync(join(tmpdir(), 'refresh-lab-out-')) })
    expect(result.code).toBe(2)
    expectOneLine(result.stderr, fragment)
  })

  it('proves the example user client from examples/, written in TypeScript', async () => {
    const result = await runCli(['run', '--client', './examples/lesson-client.ts', '--json'])
    expect(result.code).toBe(0)
    expect((JSON.parse(result.stdout) as RunReport).summary).toEqual({ total: 20, passed: 19, failed: 0, nonStrict: 1 })
  })

  it('draws the timeline: one refresh, the requests that waited on it, the retries', async () => {
    const result = await runCli(['run', 'burst', '--timeline'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('⟳ refresh #1')
    expect(result.stdout.match(/waited for ⟳ #1/g)?.length).toBe(9)
    expect(result.stdout).not.toContain('⟳ refresh #2')
  })

  it('refuses a broken scenario file and an unknown scenario with one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-bad-'))
    writeFileSync(
      join(dir, 'broken.json'),
      JSON.stringify({ name: 'broken', description: 'a broken one for the test here', steps: [], expect: {} }),
    )
    const broken = await runCli(['run', './broken.json'], { cwd: dir })
    expect(broken.code).toBe(2)
    expectOneLine(broken.stderr, './broken.json: steps: Too small: expected array to have >=1 items')
    const unknown = await runCli(['run', 'no-such-case'])
    expect(unknown.code).toBe(2)
    expectOneLine(unknown.stderr, 'unknown scenario "no-such-case"')
  })
})

describe('lab commands against a running serve', () => {
  let serve: ServeProcess
  beforeAll(async () => {
    serve = await startServe()
  })
  afterAll(async () => {
    await serve.stop()
  })

  it('reset, then assert counts what happened since: a burst by the reference client passes, the naive one fails', async () => {
    expect((await runCli(['reset', '--url', serve.url])).code).toBe(0)
    await runCli(['burst', '--url', serve.url])
    const stats = JSON.parse((await runCli(['stats', '--url', serve.url, '--json'])).stdout) as LabStats
    expect(stats.refresh.calls).toBe(1)
    const pass = await runCli(['assert', '--url', serve.url, '--refreshes', '1', '--no-reuse'])
    expect(pass.code).toBe(0)
    expect(pass.stdout).toMatch(/^PASS {2}1 refresh call\(s\), 0 reuse detection\(s\) since the last reset$/m)

    await runCli(['reset', '--url', serve.url])
    await runCli(['burst', '--url', serve.url, '--client', 'naive'])
    const fail = await runCli(['assert', '--url', serve.url, '--refreshes', '1', '--no-reuse'])
    expect(fail.code).toBe(1)
    expect(fail.stdout).toMatch(/FAIL {2}refresh calls \(server\): expected 1, got 10; no refresh-token reuse: expected 0, got 1/)
    expect((await runCli(['assert', '--url', serve.url, '--refreshes', '5-10'])).code).toBe(0)
  })

  it('prints the counters for people', async () => {
    await runCli(['reset', '--url', serve.url])
    await runCli(['burst', '--url', serve.url])
    const { stdout } = await runCli(['stats', '--url', serve.url])
    expect(stdout).toMatch(/^refresh calls {4}1 \(1 succeeded, 0 rejected\)$/m)
    expect(stdout).toMatch(/^ {2}GET \/api\/users {2}200×10 401×10$/m)
  })

  it('expire makes the access token the app holds expire now, so its next request must refresh', async () => {
    await runCli(['reset', '--url', serve.url])
    const login = await fetch(`${serve.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
    })
    const { data } = (await login.json()) as { data: { access_token: string; refresh_token: string } }
    const me = () => fetch(`${serve.url}/api/auth/me`, { headers: { authorization: `Bearer ${data.access_token}` } })
    expect((await me()).status).toBe(200)
    const expired = await runCli(['expire', '--url', serve.url])
    expect(expired.code).toBe(0)
    expect(expired.stdout).toContain('expired the access tokens of 1 session(s)')
    expect(await (await me()).json()).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } })
    expect((await runCli(['expire', '--url', serve.url, '--refresh'])).stdout).toContain('expired 1 refresh token(s)')
    const refresh = await fetch(`${serve.url}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: data.refresh_token }),
    })
    expect(await refresh.json()).toMatchObject({ error: { code: 'REFRESH_TOKEN_EXPIRED' } })
  })

  it('assert without a check is bad usage, and an unreachable server exits 3', async () => {
    const nothing = await runCli(['assert', '--url', serve.url])
    expect(nothing.code).toBe(2)
    expect(nothing.stdout).toContain('nothing to check')
    const unreachable = await runCli(['stats', '--url', 'http://127.0.0.1:9'])
    expect(unreachable.code).toBe(3)
    expectOneLine(unreachable.stderr, 'cannot reach http://127.0.0.1:9')
    const badRange = await runCli(['assert', '--url', serve.url, '--refreshes', 'one'])
    expect(badRange.code).toBe(2)
    expectOneLine(badRange.stderr, 'expected a count such as 1 or a range such as 1-2')
  })

  it('runs scenarios one at a time on a server at --url: --concurrency is for in-process servers', async () => {
    const both = await runCli(['run', 'burst', '--url', serve.url, '--concurrency', '2'])
    expect(both.code).toBe(2)
    expectOneLine(both.stderr, '--concurrency runs scenarios on in-process servers')
    const one = await runCli(['run', 'burst', 'late-401', '--url', serve.url, '--concurrency', '1', '--json'])
    expect(one.code).toBe(0)
    expect((JSON.parse(one.stdout) as RunReport).scenarios.map((s) => s.name)).toEqual(['burst', 'late-401'])
  })

  it('reads the URL from REFRESH_LAB_URL', async () => {
    const result = await runCli(['stats', '--json'], { env: { REFRESH_LAB_URL: serve.url } })
    expect(result.code).toBe(0)
  })
})
