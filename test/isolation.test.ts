import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import type { BurstReport } from '../src/harness/burst-report.js'
import type { RunReport } from '../src/harness/scenario/report.js'
import { runCli } from './support/cli.js'

/**
 * Clients nobody should have to trust: each runs in its own worker thread (or process), so what
 * it does there cannot end, hang or fool the harness. Every case spawns the real CLI.
 */
const MISBEHAVING = 'test/clients/misbehaving'

function json<T>(stdout: string): T {
  return JSON.parse(stdout) as T
}

describe('a client that ends or blocks its own tab still gets a verdict', () => {
  it('process.exit(0) in request(): burst and run print an error verdict and exit 1', async () => {
    const burst = await runCli(['burst', '--client', `${MISBEHAVING}/exits.mjs`])
    expect(burst.code).toBe(1)
    expect(burst.stdout).toContain('ERROR  client exited with code 0 during request r1')

    const run = await runCli(['run', 'burst', 'late-401', '--client', `${MISBEHAVING}/exits.mjs`, '--json'])
    expect(run.code).toBe(1)
    const report = json<RunReport>(run.stdout)
    expect(report.verdict).toBe('fail')
    expect(report.scenarios.map((s) => [s.verdict, s.error])).toEqual([
      ['error', 'client exited with code 0 during request r1'],
      ['error', 'client exited with code 0 during request r1'],
    ])
  })

  it('a synchronous busy loop is ended at --timeout with "did not answer", exit 1', async () => {
    const burst = await runCli(['burst', '--client', `${MISBEHAVING}/busy-loop.mjs`, '--timeout', '2s', '--json'])
    expect(burst.code).toBe(1)
    expect(json<BurstReport>(burst.stdout)).toMatchObject({
      verdict: 'error',
      error: 'client did not answer within 2s',
      requests: { failures: { TIMEOUT: 10 } },
    })

    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const scenario = join(dir, 'short.json')
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'short',
        description: 'One request with an expired token, bounded at two seconds, to see a spinning client ended on time.',
        timeout: '2s',
        steps: [{ do: 'signIn' }, { do: 'expire' }, { do: 'parallel', count: 1 }],
        expect: { refreshes: 1 },
      }),
    )
    const run = await runCli(['run', scenario, '--client', `${MISBEHAVING}/busy-loop.mjs`])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/short\s+must\s+ERROR/)
    expect(run.stdout).toContain('↳ client did not answer within 2s')
  })

  it('a 15-minute refresh timer and an open BroadcastChannel do not keep the CLI alive: both pass and exit 0', async () => {
    for (const client of ['refresh-timer.ts', 'broadcast.ts']) {
      const burst = await runCli(['burst', '--client', `${MISBEHAVING}/${client}`])
      expect(burst.stdout).toContain('PASS  all 7 expectations hold')
      expect(burst.code).toBe(0)
      const run = await runCli(['run', 'burst', 'two-tabs', '--client', `${MISBEHAVING}/${client}`])
      expect(run.stdout).toContain('PASS  2 scenarios: 2 passed, 0 failed')
      expect(run.code).toBe(0)
    }
  })
})

describe("the client's own errors", () => {
  it('show with message and file:line in the burst table, the timeline, --json, the run table and JUnit', async () => {
    const client = `${MISBEHAVING}/throws.ts`
    const burst = await runCli(['burst', '--client', client, '--timeline'])
    expect(burst.stdout).toContain('0 succeeded, 10 failed (10× TypeError: oops (throws.ts:8))')
    expect(burst.stdout).toMatch(/r1\s+no HTTP call {2}│ {2}→ TypeError: oops \(throws\.ts:8\)/)

    const asJson = json<BurstReport>((await runCli(['burst', '--client', client, '--json'])).stdout)
    expect(asJson.requests.failures).toEqual({ 'TypeError: oops (throws.ts:8)': 10 })

    const run = await runCli(['run', 'burst', '--client', client])
    expect(run.stdout).toContain('requests succeeded: expected 10, got 0 (10× TypeError: oops (throws.ts:8))')

    const junit = await runCli(['run', 'burst', '--client', client, '--reporter', 'junit'])
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(junit.stdout) as {
      testsuites: { testsuite: { testcase: { '@_classname': string; failure: { '#text': string } } } }
    }
    const testcase = parsed.testsuites.testsuite.testcase
    expect(testcase['@_classname']).toBe('refresh-lab.test.clients.misbehaving.throws')
    expect(testcase.failure['#text']).toContain('failed requests: 10× TypeError: oops (throws.ts:8)')
  })

  it('keeps what the client printed and shows it under a failing verdict, never inside --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const file = join(dir, 'chatty.mjs')
    writeFileSync(
      file,
      "export function createClient() { console.log('hello from the client'); return { async request() { throw new Error('nope') } } }\n",
    )
    const burst = await runCli(['burst', '--client', file, '--json'])
    const report = json<BurstReport>(burst.stdout)
    expect(report.clientOutput).toBe('hello from the client')
    const table = await runCli(['burst', '--client', file])
    expect(table.stdout).toContain('the client printed:\n    hello from the client')
  })
})

describe('the lifecycle: signed in, then createClient', () => {
  it('a client that reads its tokens once at start-up passes every scenario', async () => {
    const run = await runCli(['run', '--client', 'test/clients/reads-tokens-once.ts'])
    expect(run.stdout).toContain('PASS  20 scenarios: 19 passed, 0 failed, 1 non-strict')
    expect(run.code).toBe(0)
  }, 90_000) // every scenario in one run: room for a loaded 2-core machine
})

describe('tabs share what a browser origin shares, and nothing else', () => {
  it('navigator.locks is held in common: a Web Locks client makes one refresh for two tabs, no reuse', async () => {
    const run = await runCli(['run', 'two-tabs', 'burst', '--client', 'test/clients/web-locks-client.ts', '--json'])
    const report = json<RunReport>(run.stdout)
    expect(report.scenarios.map((s) => [s.name, s.verdict, s.refresh.serverCalls, s.reuse.detected])).toEqual([
      ['two-tabs', 'pass', 1, false],
      ['burst', 'pass', 1, false],
    ])
  })

  it('BroadcastChannel works across the tabs of one run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const scenario = join(dir, 'tabs-talk.json')
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'tabs-talk',
        description: 'Two tabs that must hear each other over BroadcastChannel; no refresh involved.',
        tabs: 2,
        steps: [{ do: 'signIn' }, { do: 'parallel', count: 2 }],
        expect: { refreshes: 0, requests: 'all-succeeded' },
      }),
    )
    const run = await runCli(['run', scenario, '--client', 'test/clients/broadcast-tabs.mjs', '--json'])
    const [result] = json<RunReport>(run.stdout).scenarios
    expect(result).toMatchObject({ verdict: 'pass', requests: { succeeded: 2 } })
  })

  it('module state is per tab: a module-level lock is not cross-tab safe (two refreshes, the second a reuse)', async () => {
    const run = await runCli(['run', 'two-tabs', '--client', 'test/clients/module-lock-client.ts', '--json'])
    const [twoTabs] = json<RunReport>(run.stdout).scenarios
    expect(twoTabs).toMatchObject({ refresh: { serverCalls: 2 }, reuse: { detected: true } })
  })
})

describe('a client that cannot be loaded: one line, exit 2, before any scenario runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  const cases: [string, () => string, RegExp][] = [
    [
      'a .ts syntax error',
      () => write('bad.ts', 'export function createClient() {\n  return {\n    request(: string) {}\n  }\n}\n'),
      /^refresh-lab: cannot load client \S+bad\.ts: bad\.ts:3:13: SyntaxError: Expected identifier but found ":"$/,
    ],
    [
      'a .mjs syntax error',
      () => write('bad.mjs', 'export function createClient() {\n  return 1 +* 2\n}\n'),
      /^refresh-lab: cannot load client \S+bad\.mjs: bad\.mjs:2:13: SyntaxError: Unexpected token '\*'$/,
    ],
    [
      'a .js syntax error',
      () => write('bad.js', '// a comment\nexport const x = ;\n'),
      /^refresh-lab: cannot load client \S+bad\.js: bad\.js:2:18: SyntaxError: Unexpected ";"$/,
    ],
    [
      'a module that throws while loading',
      () => write('throws-on-load.mjs', "const a = 1\nthrow new RangeError('no config')\n"),
      /^refresh-lab: cannot load client \S+throws-on-load\.mjs: throws-on-load\.mjs:2:7: RangeError: no config$/,
    ],
    [
      'no createClient export',
      () => `${MISBEHAVING}/no-export.mjs`,
      /^refresh-lab: cannot load client \S+no-export\.mjs: it must export a function createClient\(ctx\)$/,
    ],
    [
      'createClient throws',
      () => `${MISBEHAVING}/create-throws.mjs`,
      /^refresh-lab: client \S+create-throws\.mjs: createClient\(ctx\) threw Error: no API key configured \(create-throws\.mjs:3\)$/,
    ],
    [
      'a path without its extension',
      () => `./${MISBEHAVING}/throws`,
      /^refresh-lab: cannot load client module \.\/test\/clients\/misbehaving\/throws: file not found \(did you mean \.\/test\/clients\/misbehaving\/throws\.ts\?\)$/,
    ],
    [
      'an exec command that is not found',
      () => 'exec:refresh-lab-no-such-command --flag',
      /^refresh-lab: cannot load client exec:refresh-lab-no-such-command --flag: client exited with code 127 before it was ready: .*not found$/,
    ],
    [
      'an exec command that exits at once',
      () => 'exec:node -e "process.exit(4)"',
      /^refresh-lab: cannot load client exec:node -e "process.exit\(4\)": client exited with code 4 before it was ready$/,
    ],
  ]
  it.each(cases)('%s', async (_, client, line) => {
    for (const command of ['burst', 'run']) {
      const result = await runCli([command, '--client', client()])
      expect(result.code).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr.trim()).toMatch(line)
    }
  })

  it("an ESM .js client in a CommonJS package loads without Node's warning", async () => {
    const result = await runCli(['burst', '--client', `${MISBEHAVING}/esm-in-cjs/client.js`])
    // It loaded and ran: its requests went out (it does not refresh, so the burst fails).
    expect(result.stdout).toContain('HTTP calls within the bound    expected ≤ 50, got 10')
    expect(result.stdout + result.stderr).not.toMatch(/Warning|type": "module"/)
  })
})

describe('exec clients: the NDJSON protocol', () => {
  const bad = (mode: string) => `exec:node test/clients/exec/bad-protocol.mjs ${mode}`
  it.each([
    ['not-json', 'client protocol error: line 2 is not JSON: "hello"'],
    ['unknown-op', 'client protocol error: line 2 has an unknown op "dance"'],
    ['unknown-id', 'client protocol error: line 2 answers an id the harness never sent: "{\\"id\\":999,\\"result\\":null}"'],
    ['exit', 'client exited with code 3 during request r1: bad-protocol: exit'],
  ])('%s: the verdict names the line, and what the client printed on stderr is shown', async (mode, error) => {
    const result = await runCli(['burst', '--client', bad(mode), '--json'])
    expect(result.code).toBe(1)
    const report = json<BurstReport>(result.stdout)
    expect(report).toMatchObject({ verdict: 'error', error, clientOutput: `bad-protocol: ${mode}` })
  })

  it('the Python example passes every scenario, judged from the server side', async () => {
    const run = await runCli(['run', '--client', 'exec:python3 examples/python-client.py', '--json'])
    const report = json<RunReport>(run.stdout)
    expect(report.scenarios.filter((s) => s.verdict !== 'pass').map((s) => `${s.name}: ${s.verdict}`)).toEqual([
      'two-tabs-strict: non-strict',
    ])
    expect(report.scenarios.every((s) => s.clientCounts === 'unavailable')).toBe(true)
    expect(run.code).toBe(0)
  }, 90_000) // every scenario in one run

  it('the Python example with its lock removed fails burst, with the reuse shown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-'))
    const source = (await import('node:fs')).readFileSync('examples/python-client.py', 'utf8')
    expect(source).toContain('SINGLE_FLIGHT = True')
    writeFileSync(join(dir, 'no-lock.py'), source.replace('SINGLE_FLIGHT = True', 'SINGLE_FLIGHT = False'))
    const burst = await runCli(['burst', '--client', `exec:python3 ${join(dir, 'no-lock.py')}`])
    expect(burst.code).toBe(1)
    expect(burst.stdout).toMatch(/token reuse {4}DETECTED: 1 by the server/)
    expect(burst.stdout).toContain("note: the client's calls (at least its refreshes) did not go through ctx.fetch")
  })
})
