import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILT_IN_CLIENTS, type CreateClient } from '../src/client/index.js'
import { HarnessError } from '../src/harness/errors.js'
import { toJUnit } from '../src/harness/junit.js'
import { builtInScenarioNames, loadScenarioFile, resolveScenarios, type LoadedScenario } from '../src/harness/scenario/catalog.js'
import { causeOf, type RunReport } from '../src/harness/scenario/report.js'
import { runScenarios } from '../src/harness/scenario/run-scenarios.js'
import { resolveServerConfig } from '../server/config.js'
import { startServer, type RunningServer } from '../server/start.js'

/**
 * Which built-in scenarios each built-in faulty client must fail: the ones that reproduce its bug,
 * and no others. The README's matrix shows the same table.
 */
const EXPECTED_FAILURES: Record<string, string[]> = {
  reference: [],
  naive: ['burst', 'late-401', 'refresh-rejected', 'slow-refresh', 'slow-storage', 'two-tabs', 'two-tabs-grace'],
  'stale-capture': ['late-401'],
  'access-only': ['proactive', 'rotation-saved'],
  'logout-on-any-error': ['refresh-lost-after-rotation-grace', 'refresh-network-error'],
  'body-lost': ['post-retry-body'],
  'self-intercept': [
    'logout-revokes',
    'refresh-expired',
    'refresh-lost-after-rotation',
    'refresh-not-intercepted',
    'refresh-rejected',
    'two-tabs',
    'two-tabs-strict',
  ],
  'retry-forever': ['retry-still-401'],
  'unawaited-save': ['slow-storage'],
  'logout-on-5xx': ['refresh-5xx'],
}

/**
 * Failures a client's bug may show in besides its own scenario, depending on which tab's answer
 * lands first: retry-forever refreshes a third time in two-tabs only when its retry's 401 comes
 * before the other tab has signed out. Its own scenario (retry-still-401) catches it every time.
 */
const MAY_ALSO_FAIL: Record<string, string[]> = {
  'retry-forever': ['two-tabs'],
}

let server: RunningServer
/** Three more servers, so a run deals its scenarios over four at once, as `refresh-lab run` does. */
let moreServers: RunningServer[] = []
let scenarios: LoadedScenario[]

beforeAll(async () => {
  const start = () => startServer(resolveServerConfig({ host: '127.0.0.1', port: '0' }, {}))
  ;[server, ...moreServers] = await Promise.all([start(), start(), start(), start()])
  scenarios = await resolveScenarios([])
})
afterAll(async () => {
  await Promise.all([server, ...moreServers].map((running) => running.close()))
})

function run(clientName: string, only?: string[], createClient?: CreateClient): Promise<RunReport> {
  return runScenarios({
    url: server.url,
    moreUrls: moreServers.map((more) => more.url),
    // Built-ins by name, so they run isolated as the CLI runs them; a function runs in-process.
    ...(createClient === undefined ? { client: clientName } : { createClient, clientName }),
    scenarios: only ? scenarios.filter((s) => only.includes(s.scenario.name)) : scenarios,
  })
}

describe('built-in scenarios', () => {
  it('are the twelve cases of the suite, each named after its file and saying which bug it catches', async () => {
    const names = await builtInScenarioNames()
    expect(names).toEqual([
      'burst',
      'forbidden-is-not-401',
      'late-401',
      'logout-revokes',
      'post-retry-body',
      'proactive',
      'refresh-5xx',
      'refresh-expired',
      'refresh-lost-after-rotation',
      'refresh-lost-after-rotation-grace',
      'refresh-network-error',
      'refresh-not-intercepted',
      'refresh-rejected',
      'retry-still-401',
      'rotation-saved',
      'slow-refresh',
      'slow-storage',
      'two-tabs',
      'two-tabs-grace',
      'two-tabs-strict',
    ])
    for (const { scenario, file } of scenarios) {
      expect(file).toBe(`scenarios/${scenario.name}.json`)
      // The sentence the table prints under a failure: what a wrong client does.
      expect(causeOf(scenario.description), scenario.name).toMatch(/^An? .*client/)
    }
    expect(scenarios.filter((s) => s.scenario.level === 'should').map((s) => s.scenario.name)).toEqual(['two-tabs-strict'])
  })
})

describe('the faulty-client matrix', () => {
  it.each(Object.entries(EXPECTED_FAILURES))(
    '%s fails exactly %j',
    async (clientName, expected) => {
      const report = await run(clientName)
      const failed = report.scenarios.filter((s) => s.verdict === 'fail' || s.verdict === 'error').map((s) => s.name)
      const racy = MAY_ALSO_FAIL[clientName] ?? []
      expect(failed.filter((name) => !racy.includes(name))).toEqual(expected)
      // Per-tab locks hold every must, and only the should-level cross-tab scenario reports them.
      const nonStrict = report.scenarios.filter((s) => s.verdict === 'non-strict').map((s) => s.name)
      expect(nonStrict).toEqual(expected.includes('two-tabs-strict') ? [] : ['two-tabs-strict'])
      // A client that deadlocks (self-intercept waits on its own refresh) gets the error verdict of a
      // client that stopped answering; every other failure is a failed expectation.
      const errors = report.scenarios.filter((s) => s.verdict === 'error')
      for (const scenario of errors) expect(scenario.error).toMatch(/^client did not answer within \d+s$/)
      expect(errors.length === 0 || clientName === 'self-intercept').toBe(true)
      expect(report.verdict).toBe(expected.length === 0 ? 'pass' : 'fail')
    },
    120_000,
  )

  it('documents what per-tab locks do with no reuse grace: two refreshes, the second a reuse', async () => {
    const [twoTabs] = (await run('reference', ['two-tabs'])).scenarios
    expect(twoTabs).toMatchObject({ verdict: 'pass', refresh: { clientCalls: 2, serverCalls: 2 }, reuse: { detected: true } })
  })

  it('reports each scenario with burst-style counts', async () => {
    const [result] = (await run('stale-capture', ['late-401'])).scenarios
    expect(result).toMatchObject({
      name: 'late-401',
      verdict: 'fail',
      refresh: { clientCalls: 2, serverCalls: 2, succeeded: 1, rejected: 1 },
      reuse: { detected: true, count: 1, replays: 1 },
      loggedOut: true,
      onLogoutCalls: 1,
      session: 'signed-out',
    })
    expect(result?.expectations.find((e) => e.name === 'refresh calls (client)')).toEqual({
      name: 'refresh calls (client)',
      pass: false,
      expected: 1,
      actual: 2,
    })
  })
})

describe('bounds', () => {
  it('stops a client that loops on refresh at the call bound, with a clear failure', async () => {
    // Retries every failure at once, forever: the classic interceptor loop.
    const looping: CreateClient = (ctx) => ({
      async request<T>(method: string, path: string): Promise<T> {
        for (;;) {
          const res = await ctx.fetch(`${ctx.baseUrl}${path}`, { method }).catch(() => undefined)
          if (res?.ok) return (await res.json()) as T
          await ctx.fetch(`${ctx.baseUrl}/api/auth/refresh`, { method: 'POST', body: '{}' }).catch(() => undefined)
        }
      },
    })
    const [result] = (await run('looping', ['refresh-rejected'], looping)).scenarios
    expect(result?.verdict).toBe('fail')
    expect(result?.requests.failures).toEqual({ CALL_LIMIT: 3 })
    const bound = result?.expectations.find((e) => e.name === 'HTTP calls within the bound')
    expect(bound).toMatchObject({ pass: false, expected: '≤ 7' })
    // Each of the three looping requests has its next call refused (and parked) at the bound.
    expect(bound?.actual).toBe(7 + (result?.calls.refused ?? 0))
    expect(result?.calls.refused).toBeGreaterThan(0)
    // The call bound ended the run, not the scenario's 3 s time bound.
    expect(result?.expectations.find((e) => e.name === 'finished in time')?.pass).toBe(true)
  })
})

describe('JUnit output', () => {
  it('is well-formed XML with one testcase per scenario and the failures counted', async () => {
    const report = await run('access-only', ['rotation-saved', 'burst', 'two-tabs-strict'])
    const xml = toJUnit(report, new Date('2026-11-26T10:00:00Z'))
    expect(XMLValidator.validate(xml)).toBe(true)
    type Case = { name: string; failure?: { message: string }; 'system-out'?: string }
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { tests: string; failures: string; testsuite: { timestamp: string; hostname: string; testcase: Case[] } }
    }
    expect(parsed.testsuites).toMatchObject({ tests: '3', failures: '1' })
    expect(parsed.testsuites.testsuite).toMatchObject({ timestamp: '2026-11-26T10:00:00', hostname: expect.any(String) })
    const cases = parsed.testsuites.testsuite.testcase
    expect(cases.map((c) => c.name)).toEqual(['burst', 'rotation-saved', 'two-tabs-strict'])
    const failed = cases.filter((c) => c.failure !== undefined)
    expect(failed.map((c) => c.name)).toEqual(['rotation-saved'])
    expect(failed[0]?.failure?.message).toContain('reuse detected: expected no, got yes')
    // A should-level failure is a passing testcase with a note, unless the run is strict.
    expect(cases[2]?.['system-out']).toContain('non-strict: a should-level scenario failed')
    const strict = toJUnit(
      await runScenarios({
        url: server.url,
        client: 'reference',
        scenarios: scenarios.filter((s) => s.scenario.name === 'two-tabs-strict'),
        strict: true,
      }),
    )
    expect(strict).toContain('<failure message=')
  })

  it('escapes whatever a client name or message holds', () => {
    const xml = toJUnit({
      schema: 'refresh-lab/run@1',
      verdict: 'fail',
      client: './a&b<"c">.mjs',
      url: 'http://127.0.0.1:1',
      embedded: false,
      strict: false,
      summary: { total: 1, passed: 0, failed: 1, nonStrict: 0 },
      durationMs: 1,
      scenarios: [
        {
          name: 'x',
          description: 'a <b> & "c" \u0001',
          file: 'x.json',
          level: 'must',
          verdict: 'error',
          error: 'boom </testcase>',
          requests: { total: 0, succeeded: 0, failed: 0, failures: {} },
          refresh: { clientCalls: 0, serverCalls: 0, succeeded: 0, rejected: 0, graceReuses: 0, faulted: 0 },
          reuse: { detected: false, count: 0, replays: 0 },
          loggedOut: false,
          onLogoutCalls: 0,
          session: 'unknown',
          calls: { made: 0, refused: 0 },
          clientCounts: 'recorded',
          expectations: [],
          notes: [],
          durationMs: 1,
        },
      ],
    })
    expect(XMLValidator.validate(xml)).toBe(true)
  })
})

describe('scenario files with mistakes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-scenarios-'))
  const valid = {
    name: 'mine',
    description: 'A case of my own that checks one refresh for two requests.',
    steps: [{ do: 'signIn' }, { do: 'expire' }, { do: 'parallel', count: 2 }],
    expect: { refreshes: 1 },
  }

  it('loads a valid file', async () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(valid))
    const { scenario } = await loadScenarioFile(join(dir, 'ok.json'), 'ok.json')
    expect(scenario).toMatchObject({ name: 'mine', tabs: 1, timeout: '10s', expect: { refreshes: 1, requests: 'all-succeeded' } })
  })

  it.each([
    ['not JSON', '{"name": ', /^bad\.json: not valid JSON/],
    ['no name', { ...valid, name: undefined }, /^bad\.json: name: Invalid input: expected string, received undefined/],
    [
      'a bad duration',
      { ...valid, steps: [{ do: 'advanceClock', by: '35' }] },
      /^bad\.json: steps\[0\]\.by: invalid duration "35": a unit is missing/,
    ],
    [
      'an unknown step',
      { ...valid, steps: [{ do: 'teleport' }] },
      /^bad\.json: steps\[0\]\.do: Invalid discriminator value\. Expected 'signIn' \| 'advanceClock'/,
    ],
    ['a typo in a field', { ...valid, expect: { refreshs: 1 } }, /^bad\.json: expect: Unrecognized key: "refreshs"/],
    ['a wrong type', { ...valid, tabs: 'two' }, /^bad\.json: tabs: Invalid input: expected number, received string/],
    [
      'a bad range',
      { ...valid, expect: { refreshes: 'one' } },
      /^bad\.json: expect\.refreshes: expected a count such as 1, or a range such as \{"min":1,"max":2\}/,
    ],
    [
      'a fault that does nothing',
      { ...valid, steps: [{ do: 'fault', path: '/api/users' }] },
      /steps\[0\]: a fault needs "delay", "status", "drop": true or "dropAfter": true/,
    ],
    [
      'a fault that drops and answers',
      { ...valid, steps: [{ do: 'fault', path: '/x', drop: true, status: 503 }] },
      /steps\[0\]: a fault either answers a "status" or drops the connection, not both/,
    ],
    [
      'a request delay past the cap',
      { ...valid, steps: [{ do: 'sequence', requests: [{ delay: '40s' }] }] },
      /steps\[0\]\.requests\[0\]\.delay: "40s" is longer than 30s/,
    ],
    [
      'a tab that does not exist',
      { ...valid, tabs: 2, steps: [{ do: 'sequence', requests: [{ tab: 2 }] }] },
      /steps\[0\]\.requests\[0\]\.tab: tab 2 does not exist: the scenario has 2 tab\(s\)/,
    ],
    [
      'a failure expected of no request',
      { ...valid, expect: { requests: { failed: { ghost: 'X' } } } },
      /expect\.requests\.failed\.ghost: no request has the id "ghost"/,
    ],
    [
      'an id used twice',
      { ...valid, steps: [{ do: 'sequence', requests: [{ id: 'a' }, { id: 'a' }] }] },
      /steps\[0\]\.requests\[1\]\.id: the id "a" is used twice/,
    ],
    ['echoIntact false', { ...valid, expect: { echoIntact: false } }, /expect\.echoIntact/],
    [
      'a bad path',
      { ...valid, steps: [{ do: 'sequence', requests: [{ path: 'api/users' }] }] },
      /steps\[0\]\.requests\[0\]\.path: a path starting with "\/"/,
    ],
  ])('refuses %s with one error naming the file, the field and what was expected', async (_, content, message) => {
    writeFileSync(join(dir, 'bad.json'), typeof content === 'string' ? content : JSON.stringify(content))
    const error = await loadScenarioFile(join(dir, 'bad.json'), 'bad.json').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HarnessError)
    expect((error as HarnessError).kind).toBe('usage')
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain('\n')
  })

  it('names an unknown built-in scenario and lists the known ones', async () => {
    await expect(resolveScenarios(['nope'])).rejects.toThrow(/unknown scenario "nope"; built in: burst, forbidden-is-not-401, late-401/)
  })
})

describe('one scenario cannot spill into the next', () => {
  const scenario = (name: string, extra: object): LoadedScenario => ({
    file: `${name}.json`,
    scenario: {
      name,
      description: 'a case written for this test only',
      level: 'must',
      storage: {},
      server: {},
      tabs: 1,
      timeout: '1s',
      steps: [{ do: 'signIn' }, { do: 'expire', tokens: 'access' }],
      expect: { requests: 'any' },
      ...extra,
    } as LoadedScenario['scenario'],
  })

  it('drops a refresh still held by the server when the next scenario resets it', async () => {
    const held = scenario('held', {
      steps: [
        { do: 'signIn' },
        { do: 'expire', tokens: 'access' },
        { do: 'fault', path: '/api/auth/refresh', delay: '3s' },
        { do: 'sequence', requests: [{ method: 'GET', path: '/api/users' }] },
      ],
    })
    const quiet = scenario('quiet', { steps: [{ do: 'signIn' }], expect: { requests: 'any', refreshes: 0 }, timeout: '5s' })
    const report = await runScenarios({
      url: server.url,
      createClient: BUILT_IN_CLIENTS['reference'] as CreateClient,
      clientName: 'reference',
      scenarios: [held, quiet],
    })
    await new Promise((resolve) => setTimeout(resolve, 2_500)) // past the held refresh's 3 s
    const [first, second] = report.scenarios
    expect(first?.requests.failures).toEqual({ TIMEOUT: 1 })
    expect(second?.verdict).toBe('pass')
    expect(((await fetch(`${server.url}/_lab/stats`).then((r) => r.json())) as { refresh: { calls: number } }).refresh.calls).toBe(0)
  })

  it('never sends a request whose `after` outlasts the timeout, and ends on time', async () => {
    const slow = scenario('slow', {
      steps: [{ do: 'signIn' }, { do: 'parallel', requests: [{ method: 'GET', path: '/api/users', after: '20s' }] }],
    })
    const [result] = (
      await runScenarios({
        url: server.url,
        createClient: BUILT_IN_CLIENTS['reference'] as CreateClient,
        clientName: 'reference',
        scenarios: [slow],
      })
    ).scenarios
    expect(result?.requests.failures).toEqual({ TIMEOUT: 1 })
    expect(result?.calls.made).toBe(0)
    expect(result?.expectations.find((e) => e.name === 'finished in time')).toMatchObject({ pass: false, actual: 'timed out' })
  })
})
