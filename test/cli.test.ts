import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMAND_SUMMARIES } from '../src/cli/summaries.js'
import type { BurstReport } from '../src/harness/burst-report.js'
import { runCli, startServe, type ServeProcess } from './support/cli.js'

/** A user error must read as one line, never as a stack trace. */
function expectOneLine(stderr: string, ...fragments: string[]) {
  const lines = stderr.trim().split('\n')
  expect(lines).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
  for (const fragment of fragments) expect(lines[0]).toContain(fragment)
}

describe('refresh-lab serve', () => {
  let serve: ServeProcess

  beforeAll(async () => {
    serve = await startServe(['--access-ttl', '30s', '--secret', 'e2e-secret-e2e-secret-e2e-secret'])
  })

  afterAll(async () => {
    if (serve.child.exitCode === null) await serve.stop()
  })

  it('prints the URL, the demo credentials and the settings, one line each', () => {
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(serve.banner).toContain('user: demo@example.com / password')
    expect(serve.banner.find((line) => line.startsWith('settings:'))).toBe(
      'settings: access-ttl 30s, refresh-ttl 168h, session-ttl 720h, reuse-grace 0s, profile simple, HS256, access tokens die with their session',
    )
  })

  it('answers the flow a curl user would try: login, authed GET, expiry, refresh, reuse', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${serve.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const login = await post('/api/auth/login', { email: 'demo@example.com', password: 'password' })
    const tokens = ((await login.json()) as { data: { access_token: string; refresh_token: string; expires_in: number } }).data
    expect(tokens.expires_in).toBe(30)
    const users = await fetch(`${serve.url}/api/users`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(users.status).toBe(200)
    await post('/_lab/clock', { advance: '35s' })
    const expired = await fetch(`${serve.url}/api/users`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(await expired.json()).toMatchObject({ error: { code: 'TOKEN_EXPIRED' } })
    expect((await post('/api/auth/refresh', { refresh_token: tokens.refresh_token })).status).toBe(200)
    expect(await (await post('/api/auth/refresh', { refresh_token: tokens.refresh_token })).json()).toMatchObject({
      error: { code: 'REFRESH_TOKEN_REUSED' },
    })
    const stats = (await (await fetch(`${serve.url}/_lab/stats`)).json()) as { reuseDetected: number; familiesRevoked: number }
    expect(stats).toMatchObject({ reuseDetected: 1, familiesRevoked: 1 })
  })

  it('closes cleanly on SIGTERM with exit code 0', async () => {
    const result = await serve.stop('SIGTERM')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('SIGTERM received, closing')
  })

  it('closes cleanly on SIGINT too', async () => {
    const other = await startServe()
    expect((await other.stop('SIGINT')).code).toBe(0)
  })

  it('warns once when no secret is set', async () => {
    const other = await startServe()
    const { code, stderr } = await other.stop()
    expect(code).toBe(0)
    expect(stderr.trim().split('\n')).toEqual([
      'warning: no --secret or JWT_SECRET set; using a random secret, so tokens die with this process',
    ])
  })

  it.each([
    [['--access-ttl', '30'], {}, ['--access-ttl', '"30"']],
    [[], { JWT_ACCESS_EXPIRY: 'half an hour' }, ['JWT_ACCESS_EXPIRY', '"half an hour"']],
    [['--refresh-ttl', '7 days'], {}, ['--refresh-ttl', '"7 days"']],
    [['--reuse-grace', '-1s'], {}, ['--reuse-grace', '"-1s"']],
    [['--user', 'nopassword'], {}, ['--user', 'email:password']],
    [['--host', 'bogus host'], {}, ['--host', '"bogus host"']],
    [['--host', 'no-such-host.invalid', '--lab-token', 'a-lab-token-of-some-length'], {}, ['cannot listen']],
    [['--host', '0.0.0.0'], {}, ['--host 0.0.0.0 is not a loopback address', '--lab-token']],
    [['--users', '/nonexistent/users.json'], {}, ['--users: cannot read /nonexistent/users.json (ENOENT)']],
    // Refused before any connection: nothing listens on port 9, and the line is not "cannot reach Redis".
    [['--store', 'redis://127.0.0.1:9/0', '--data-dir', '/nonexistent/lab-data'], {}, ['--data-dir: not with a Redis --store']],
  ])('refuses %j %j at startup with exit 2 and one line', async (args, env, fragments) => {
    const result = await runCli(['serve', '--port', '0', ...args], { env })
    expect(result.code).toBe(2)
    expectOneLine(result.stderr, ...fragments)
  })

  it.each([
    ['that is not JSON', '[{"email": "a@example.com",', '--users: users.json is not valid JSON'],
    [
      'of the wrong shape',
      JSON.stringify([{ email: 'a@example.com', password: 'pw', claims: ['admin'] }]),
      '--users: users.json, user 1: "claims" must be an object',
    ],
  ])('refuses a --users file %s at startup with exit 2 and one line', async (_, text, fragment) => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-cli-users-'))
    writeFileSync(join(dir, 'users.json'), text)
    const result = await runCli(['serve', '--port', '0', '--users', 'users.json'], { cwd: dir })
    expect(result.code).toBe(2)
    expectOneLine(result.stderr, fragment)
  })

  it('reads its settings from the environment', async () => {
    const other = await startServe([], { JWT_ACCESS_EXPIRY: '45s', JWT_REFRESH_EXPIRY: '7d', JWT_SECRET: 'from-the-env' })
    expect(other.banner.find((line) => line.startsWith('settings:'))).toContain('access-ttl 45s, refresh-ttl 168h')
    const { stderr } = await other.stop()
    expect(stderr).not.toContain('warning')
  })
})

describe('refresh-lab burst', () => {
  const json = (stdout: string) => JSON.parse(stdout) as BurstReport

  it('passes with the reference client: one refresh for ten parallel 401s', async () => {
    const result = await runCli(['burst', '--parallel', '10'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^PASS {2}all 7 expectations hold: 1 refresh call for 10 parallel 401s$/m)
    expect(result.stderr).toBe('')
  })

  it('fails the naive client: ten refresh calls and reuse detected', async () => {
    const result = await runCli(['burst', '--client', 'naive', '--parallel', '10', '--json'])
    expect(result.code).toBe(1)
    const report = json(result.stdout)
    expect(report).toMatchObject({
      schema: 'refresh-lab/burst@1',
      verdict: 'fail',
      client: 'naive',
      parallel: 10,
      refresh: { clientCalls: 10, serverCalls: 10, succeeded: 1, rejected: 9 },
      reuse: { detected: true, count: 1 },
    })
    const failed = report.expectations.filter((e) => !e.pass).map((e) => e.name)
    expect(failed).toEqual(expect.arrayContaining(['refresh calls (client)', 'refresh calls (server)', 'no refresh-token reuse']))
    // Reuse detection revoked the session, and every refused refresh signed the user out again.
    expect(report).toMatchObject({ loggedOut: true, session: 'signed-out' })
    expect(report.onLogoutCalls).toBeGreaterThan(1)
    expect(failed).toContain('still signed in')
  })

  it('names the failed expectations in its human output', async () => {
    const result = await runCli(['burst', '--client', 'naive'])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^FAIL {2}refresh calls \(client\): expected 1, got 10;/m)
  })

  it('passes with 1000 parallel requests, still exactly one refresh', async () => {
    const result = await runCli(['burst', '--parallel', '1000', '--json'])
    expect(result.code).toBe(0)
    const report = json(result.stdout)
    expect(report.requests).toMatchObject({ total: 1000, succeeded: 1000, failed: 0 })
    expect(report.refresh).toMatchObject({ clientCalls: 1, serverCalls: 1 })
  })

  it('lists every built-in client in its help', async () => {
    const help = await runCli(['burst', '--help'])
    for (const name of [
      'reference',
      'naive',
      'stale-capture',
      'access-only',
      'logout-on-any-error',
      'body-lost',
      'self-intercept',
      'retry-forever',
      'unawaited-save',
      'logout-on-5xx',
    ]) {
      expect(help.stdout).toContain(name)
    }
    expect(help.stdout).toContain('exec:<command>')
  })

  it('writes the documented JSON schema', async () => {
    const report = json((await runCli(['burst', '--json'])).stdout)
    expect(Object.keys(report).sort()).toEqual(
      [
        'schema',
        'verdict',
        'url',
        'embedded',
        'client',
        'parallel',
        'method',
        'path',
        'requests',
        'refresh',
        'reuse',
        'loggedOut',
        'onLogoutCalls',
        'session',
        'expectations',
        'clientCounts',
        'notes',
        'durationMs',
      ].sort(),
    )
    expect(report.expectations[0]).toEqual({ name: 'refresh calls (client)', pass: true, expected: 1, actual: 1 })
    expect(report).toMatchObject({ embedded: true, loggedOut: false, session: 'active', reuse: { detected: false, count: 0, replays: 0 } })
  })

  it('runs against a server started with serve, and --allow-reuse / --expect-refreshes change the verdict', async () => {
    const serve = await startServe()
    try {
      const pass = await runCli(['burst', '--url', serve.url, '--json'])
      expect(pass.code).toBe(0)
      expect(json(pass.stdout)).toMatchObject({ embedded: false, url: serve.url })
      const naive = await runCli(['burst', '--url', serve.url, '--client', 'naive', '--allow-reuse', '--expect-refreshes', '10', '--json'])
      const report = json(naive.stdout)
      expect(report.expectations.map((e) => e.name)).not.toContain('no refresh-token reuse')
      expect(report.expectations.find((e) => e.name === 'refresh calls (server)')).toMatchObject({ pass: true, actual: 10 })
      expect(naive.code).toBe(1) // the requests still failed, so the verdict stays fail
    } finally {
      await serve.stop()
    }
  })

  it('runs a user client module given by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-client-'))
    const reference = pathToFileURL(join(process.cwd(), 'dist/src/client/reference.js')).href
    writeFileSync(join(dir, 'my-client.mjs'), `export { createClient } from ${JSON.stringify(reference)}\n`)
    writeFileSync(join(dir, 'not-a-client.mjs'), 'export const hello = 1\n')
    writeFileSync(join(dir, 'throws.mjs'), 'export function createClient() { throw new Error("no config") }\n')
    writeFileSync(join(dir, 'returns-nothing.mjs'), 'export function createClient() {}\n')
    const ok = await runCli(['burst', '--client', './my-client.mjs', '--json'], { cwd: dir })
    expect(ok.code).toBe(0)
    expect(json(ok.stdout).client).toBe('./my-client.mjs')
    const bad = await runCli(['burst', '--client', './not-a-client.mjs'], { cwd: dir })
    expect(bad.code).toBe(2)
    expectOneLine(bad.stderr, 'must export a function createClient(ctx)')
    const throws = await runCli(['burst', '--client', './throws.mjs'], { cwd: dir })
    expect(throws.code).toBe(2)
    expectOneLine(throws.stderr, 'client ./throws.mjs: createClient(ctx) threw Error: no config (throws.mjs:1)')
    const nothing = await runCli(['burst', '--client', './returns-nothing.mjs'], { cwd: dir })
    expect(nothing.code).toBe(2)
    expectOneLine(nothing.stderr, 'must return an object with a request(method, path, body) function')
  })

  it('exits 3 when the URL answers, but not like refresh-lab', async () => {
    const other = createServer((_, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const result = await runCli(['burst', '--url', `http://127.0.0.1:${(other.address() as AddressInfo).port}`])
      expect(result.code).toBe(3)
      expectOneLine(result.stderr, 'does not answer like refresh-lab')
    } finally {
      other.close()
    }
  })

  it('ends a run whose client never answers at the --timeout bound, failing every request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-client-'))
    writeFileSync(join(dir, 'hangs.mjs'), 'export function createClient() { return { request: () => new Promise(() => {}) } }\n')
    const result = await runCli(['burst', '--client', './hangs.mjs', '--timeout', '500ms', '--json'], { cwd: dir })
    expect(result.code).toBe(1)
    expect(json(result.stdout).requests).toEqual({ total: 10, succeeded: 0, failed: 10, failures: { TIMEOUT: 10 } })
  })

  it('exits 3 with one line when the server is unreachable', async () => {
    const result = await runCli(['burst', '--url', 'http://127.0.0.1:9'])
    expect(result.code).toBe(3)
    expectOneLine(result.stderr, 'cannot reach http://127.0.0.1:9')
  })

  it.each([
    [['--parallel', '0'], '--parallel'],
    [['--parallel', 'ten'], '--parallel'],
    [['--client', 'nonsense'], 'unknown client "nonsense"'],
    [['--client', './missing.mjs'], 'cannot load client module ./missing.mjs'],
    [['--url', 'localhost:4000'], '--url must be an http(s) URL'],
    [['--timeout', 'soon'], '--timeout'],
    [['--nope'], "unknown option '--nope'"],
    [['--method', 'BAD METHOD'], '--method must be an HTTP method'],
    [['--method', 'CONNECT'], '--method must be an HTTP method'],
  ])('exits 2 on bad usage %j', async (args, fragment) => {
    const result = await runCli(['burst', ...args])
    expect(result.code).toBe(2)
    expectOneLine(result.stderr, fragment)
  })
})

describe('refresh-lab --help', () => {
  it('lists every command with its summary and exits 0', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    const listed = result.stdout.replace(/\s+/g, ' ')
    for (const [name, summary] of Object.entries(COMMAND_SUMMARIES)) expect(listed).toContain(`${name} ${summary}`)
  })

  it('suggests the command a typo meant, exit 2', async () => {
    const result = await runCli(['brust'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("unknown command 'brust'")
    expect(result.stderr).toContain('Did you mean burst?')
  })

  it("`help <command>` shows that command's options", async () => {
    const result = await runCli(['help', 'serve'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: refresh-lab serve [options]')
    expect(result.stdout).toContain('--access-ttl')
  })
})
