import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BurstReport } from '../src/harness/burst-report.js'
import type { RunReport } from '../src/harness/scenario/report.js'
import { runCli, startServe } from './support/cli.js'

describe('the grit profile end to end', () => {
  it('serve --profile grit: burst and run pass with the reference client against it', async () => {
    const serve = await startServe(['--profile', 'grit'])
    try {
      expect(serve.banner.find((line) => line.startsWith('settings:'))).toContain('profile grit')
      const burst = await runCli(['burst', '--url', serve.url, '--json'])
      expect(burst.code).toBe(0)
      expect(JSON.parse(burst.stdout) as BurstReport).toMatchObject({ verdict: 'pass', refresh: { serverCalls: 1 } })
      const run = await runCli(['run', '--url', serve.url, '--json'])
      expect(run.code).toBe(0)
      expect((JSON.parse(run.stdout) as RunReport).summary).toEqual({ total: 20, passed: 19, failed: 0, nonStrict: 1 })
    } finally {
      await serve.stop()
    }
  }, 90_000) // every scenario, one at a time on the one server at --url

  it('burst --profile grit starts its in-process server in that profile', async () => {
    const result = await runCli(['burst', '--profile', 'grit', '--client', 'naive', '--json'])
    expect(result.code).toBe(1)
    // Grit's wire code for a refused reuse is SESSION_REVOKED; the counts are the same as ever.
    expect((JSON.parse(result.stdout) as BurstReport).requests.failures).toMatchObject({ SESSION_REVOKED: 1 })
  })
})

describe('the supabase profile end to end', () => {
  it('serve --profile supabase: GoTrue answers beside /api/auth/*, which burst still passes against', async () => {
    const serve = await startServe(['--profile', 'supabase', '--reuse-grace', '10s', '--grace-returns', 'parent'])
    try {
      expect(serve.banner.find((line) => line.startsWith('settings:'))).toContain('reuse-grace 10s (returns parent), profile supabase')
      expect(serve.banner).toContain(`supabase: createClient('${serve.url}', 'any-key'), GoTrue at ${serve.url}/auth/v1`)
      const signIn = await fetch(`${serve.url}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', apikey: 'any-key' },
        body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
      })
      expect(signIn.status).toBe(200)
      expect(await signIn.json()).toMatchObject({ token_type: 'bearer', user: { email: 'demo@example.com' } })
      const burst = await runCli(['burst', '--url', serve.url, '--json'])
      expect(burst.code).toBe(0)
      expect(JSON.parse(burst.stdout) as BurstReport).toMatchObject({ verdict: 'pass', refresh: { serverCalls: 1 } })
    } finally {
      await serve.stop()
    }
  })
})

describe('serve reads .env', () => {
  it('from the working directory, and from --env', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-dotenv-'))
    writeFileSync(join(dir, '.env'), 'JWT_ACCESS_EXPIRY=30s\nJWT_SECRET=from-dotenv-from-dotenv-from-dotenv\n')
    writeFileSync(join(dir, 'other.env'), 'JWT_ACCESS_EXPIRY=45s\n')
    const fromDotenv = await startServe([], {}, dir)
    expect(fromDotenv.banner.find((line) => line.startsWith('settings:'))).toContain('access-ttl 30s')
    const first = await fromDotenv.stop()
    expect(first.stderr).not.toContain('no --secret or JWT_SECRET')
    const fromFlag = await startServe(['--env', 'other.env'], {}, dir)
    expect(fromFlag.banner.find((line) => line.startsWith('settings:'))).toContain('access-ttl 45s')
    await fromFlag.stop()
    const missing = await runCli(['serve', '--port', '0', '--env', 'nope.env'], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe('refresh-lab: --env: cannot read nope.env (ENOENT)')
  })

  it('--env never runs the NODE_OPTIONS of its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-node-options-'))
    const marker = join(dir, 'ran')
    writeFileSync(join(dir, 'x.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')\n`)
    writeFileSync(join(dir, 'ci.env'), 'NODE_OPTIONS=--require ./x.cjs\nJWT_ACCESS_EXPIRY=45s\n')
    const serve = await startServe(['--env', 'ci.env'], {}, dir)
    await serve.stop()
    expect(serve.banner.find((line) => line.startsWith('settings:'))).toContain('access-ttl 45s')
    expect(existsSync(marker)).toBe(false)
  })

  it('refuses the old --env-file with a pointer to --env, exit 2 in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-env-file-'))
    writeFileSync(join(dir, 'other.env'), 'JWT_ACCESS_EXPIRY=45s\n')
    const old = await runCli(['serve', '--port', '0', '--env-file', 'other.env'], { cwd: dir })
    expect(old.code).toBe(2)
    expect(old.stderr.trim()).toBe(
      'refresh-lab: --env-file: is now --env <file> (Node 20 reads --env-file itself, NODE_OPTIONS included, before refresh-lab runs)',
    )
    // What no code of ours can change: Node 20 reads --env-file before the program starts, and stops
    // with its own message when the file is missing (this is why the option was renamed).
    if (process.versions.node.startsWith('20.')) {
      const missing = await runCli(['serve', '--port', '0', '--env-file', 'nope.env'], { cwd: dir })
      expect(missing.code).toBe(9)
      expect(missing.stderr).toContain('nope.env: not found')
    }
  })

  it('serve --alg ES256 prints where its JWKS is', async () => {
    const serve = await startServe(['--alg', 'ES256'])
    try {
      expect(serve.banner.some((line) => line.startsWith(`jwks: ${serve.url}/.well-known/jwks.json (kid `))).toBe(true)
    } finally {
      await serve.stop()
    }
  })
})

describe('serve --lab-token', () => {
  it('guards the lab API; the lab commands and burst pass the token from the flag or REFRESH_LAB_TOKEN', async () => {
    const token = 'a-lab-token-of-some-length'
    const serve = await startServe(['--lab-token', token])
    try {
      expect(serve.banner).toContain('lab API: guarded by --lab-token')
      const without = await runCli(['stats', '--url', serve.url])
      expect(without.code).toBe(2)
      expect(without.stderr.trim()).toBe(
        `refresh-lab: ${serve.url} guards its lab API with a token: give --lab-token or set REFRESH_LAB_TOKEN`,
      )
      expect((await runCli(['stats', '--url', serve.url, '--lab-token', token])).code).toBe(0)
      expect((await runCli(['burst', '--url', serve.url], { env: { REFRESH_LAB_TOKEN: token } })).code).toBe(0)
    } finally {
      await serve.stop()
    }
  })
  it('refuses a token no Authorization header can carry (a passphrase with spaces) at start, exit 2 in one line', async () => {
    const result = await runCli(['serve', '--port', '0', '--lab-token', 'correct horse battery staple'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(
      'refresh-lab: --lab-token: a token sent in an Authorization header must be printable ASCII with no spaces',
    )
  })
})
