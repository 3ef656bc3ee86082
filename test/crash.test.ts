import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { LabSession } from '../src/shared/wire.js'
import { runCli, startServe, type ServeProcess } from './support/cli.js'

interface Tokens {
  access_token: string
  refresh_token: string
}

const post = async (url: string, path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as { data?: Tokens; error?: { code: string } } }
}

const sidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid

const KEY = Buffer.alloc(32, 7).toString('base64')
const NOW = Date.now()
const family = (fields: Record<string, unknown>) =>
  JSON.stringify({
    store: { families: [{ id: 'fam_1', userId: 'usr_1', createdAt: NOW, expiresAt: NOW + 1, status: 'active', generation: 1, ...fields }] },
  })
const token = (fields: Record<string, unknown>) =>
  JSON.stringify({
    store: {
      tokens: [['hash', { familyId: 'fam_1', generation: 1, issuedAt: NOW, expiresAt: NOW + 1, rotatedAt: null, graceUses: 0, ...fields }]],
    },
  })
const outOfRange: [string, string, string][] = [
  [
    'state.json',
    `[${family({ expiresAt: 9e15 })}]`,
    'state.json entry 1 is corrupt (session fam_1: expiresAt 9000000000000000 is not a time a Date can hold)',
  ],
  [
    'state.json',
    `[${family({ revokedAt: -1, status: 'revoked' })}]`,
    'state.json entry 1 is corrupt (session fam_1: revokedAt -1 is not a time a Date can hold)',
  ],
  [
    'journal.ndjson',
    `${family({ generation: -2 })}\n`,
    'journal.ndjson line 1 is corrupt (session fam_1: generation -2 is not a whole number from 1)',
  ],
  [
    'journal.ndjson',
    `${token({ rotatedAt: 1e300 })}\n`,
    'journal.ndjson line 1 is corrupt (a token of fam_1: rotatedAt 1e+300 is not a time a Date can hold)',
  ],
  [
    'journal.ndjson',
    `${token({ graceUses: -1 })}\n`,
    'journal.ndjson line 1 is corrupt (a token of fam_1: graceUses -1 is not a whole number from 0)',
  ],
  [
    'journal.ndjson',
    '{"clockOffsetMs":9e15}\n',
    'journal.ndjson line 1 is corrupt (clockOffsetMs 9000000000000000 puts the lab clock beyond what a Date can hold)',
  ],
  // A rotated record's child is rebuilt from these: what a self-describing token cannot carry is refused.
  [
    'journal.ndjson',
    `${token({ familyId: 'fam_AbCdEfGhIjKl', rotatedAt: NOW, child: [2, 3e14] })}\n`,
    'journal.ndjson line 1 is corrupt (a token record of the wrong shape)',
  ],
  [
    'journal.ndjson',
    `${token({ rotatedAt: NOW, child: [2, NOW] })}\n`,
    'journal.ndjson line 1 is corrupt (a token record of the wrong shape)',
  ],
  [
    'journal.ndjson',
    '{"store":{"trails":[["fam_1",{"forgottenGeneration":0}]]}}\n',
    'journal.ndjson line 1 is corrupt (a token trail of the wrong shape)',
  ],
  ['journal.ndjson', '{"serialFloor":-5}\n', 'journal.ndjson line 1 is corrupt (serialFloor -5 is not a whole number from 0)'],
  ['journal.ndjson', '{"expiredFamily":["fam_1",-1]}\n', 'journal.ndjson line 1 is corrupt (expiredFamily is not [id, serial])'],
]

describe('--data-dir survives kill -9', () => {
  it('keeps every refresh token a client got a 200 for, forgets nothing answered, and never half-rotates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-data-'))
    let serve: ServeProcess = await startServe(['--data-dir', dir])
    const sessions: { acknowledged: Tokens; generation: number; sid: string }[] = []
    for (let i = 0; i < 20; i += 1) {
      const { data } = (await post(serve.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body
      const sid = (JSON.parse(Buffer.from(data!.access_token.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }).sid
      sessions.push({ acknowledged: data!, generation: 1, sid })
    }

    // Every session refreshes in a loop, remembering only what the server answered; then kill -9.
    let running = true
    const loops = sessions.map(async (session) => {
      while (running) {
        const answer = await post(serve.url, '/api/auth/refresh', { refresh_token: session.acknowledged.refresh_token }).catch(
          () => undefined,
        )
        if (answer?.status !== 200) return
        session.acknowledged = answer.body.data!
        session.generation += 1
      }
    })
    await new Promise((resolve) => setTimeout(resolve, 400))
    serve.child.kill('SIGKILL')
    running = false
    await Promise.all(loops)
    expect(sessions.reduce((sum, s) => sum + s.generation - 1, 0)).toBeGreaterThan(20) // the burst really ran

    // The same port, as a restarted server has: the URL is the tokens' issuer.
    serve = await startServe(['--data-dir', dir, '--port', new URL(serve.url).port])
    try {
      expect(serve.banner).toContain(`data: ${dir}, 20 session(s) restored`)
      const stored = (await (await fetch(`${serve.url}/_lab/sessions`)).json()) as { sessions: LabSession[] }
      for (const session of sessions) {
        const restored = stored.sessions.find((s) => s.id === session.sid)
        // Nothing answered is forgotten; at most the one change in flight at the kill went through unanswered.
        expect(restored?.status).toBe('active')
        expect([session.generation, session.generation + 1]).toContain(restored?.generation)
        // The access token still verifies: the signing secret survived too.
        const me = await fetch(`${serve.url}/api/auth/me`, { headers: { authorization: `Bearer ${session.acknowledged.access_token}` } })
        expect(me.status).toBe(200)
        // The last refresh token answered still works, or was rotated by that unanswered change.
        const next = await post(serve.url, '/api/auth/refresh', { refresh_token: session.acknowledged.refresh_token })
        if (restored?.generation === session.generation) expect(next.status).toBe(200)
        else expect(next.body.error?.code).toBe('REFRESH_TOKEN_REUSED')
      }
    } finally {
      await serve.stop()
    }
  })

  it.each([
    ['journal.ndjson', '{"store":{}}\nnot json\n{"store":{}}\n', 'journal.ndjson line 2 is corrupt (not JSON)'],
    ['journal.ndjson', 'null\n', 'journal.ndjson line 1 is corrupt (not an object)'],
    ['journal.ndjson', '{"store":{"tokens":[1]}}\n', 'journal.ndjson line 1 is corrupt (a token record of the wrong shape)'],
    ['journal.ndjson', '{"clockOffsetMs":"abc"}\n', 'journal.ndjson line 1 is corrupt (clockOffsetMs is not a number)'],
    ['journal.ndjson', '{"store":{"families":"xy"}}\n', 'journal.ndjson line 1 is corrupt (a session of the wrong shape)'],
    ['state.json', '{}', 'state.json is corrupt (not a list of entries)'],
    ['state.json', 'null', 'state.json is corrupt (not a list of entries)'],
    ['keys.json', '{"refreshKey":"x"}', 'keys.json is corrupt (no 32-byte refreshKey)'],
    ['keys.json', `{"refreshKey":"${KEY}","hs256Secret":""}`, 'keys.json is corrupt (hs256Secret is not a 32-byte secret)'],
    // Values of the right type but out of range: refused on load, not found later as a 500.
    ...outOfRange,
  ])('refuses to start over a corrupt %s (%j), with one line, and leaves it as it was', async (file, content, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-corrupt-'))
    writeFileSync(join(dir, file), content)
    const result = await runCli(['serve', '--port', '0', '--data-dir', dir])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(
      `refresh-lab: --data-dir: ${join(dir, message)}; refresh-lab will not start over it and lose data: move it away to start empty`,
    )
    expect(readFileSync(join(dir, file), 'utf8')).toBe(content)
    expect(existsSync(join(dir, 'lock'))).toBe(false) // a refused start leaves no lock behind
  })

  it('keeps an early expiry across a restart, and a later expiry still reaches tokens issued before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-expiry-'))
    const first = await startServe(['--data-dir', dir, '--secret', 'expiry-secret-expiry-secret-expiry'])
    const port = new URL(first.url).port
    const old = (await post(first.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body.data!
    const expiredBefore = (await post(first.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })).body.data!
    await post(first.url, '/_lab/expire', { family: sidOf(expiredBefore.access_token) })
    first.child.kill('SIGKILL')
    await new Promise((resolve) => first.child.once('close', resolve))
    const second = await startServe(['--data-dir', dir, '--secret', 'expiry-secret-expiry-secret-expiry', '--port', port])
    try {
      const me = (token: string) =>
        fetch(`${second.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status)
      expect(await me(expiredBefore.access_token)).toBe(401) // the expiry acknowledged before the crash holds
      expect(await me(old.access_token)).toBe(200)
      await post(second.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })
      await post(second.url, '/_lab/expire', {})
      expect(await me(old.access_token)).toBe(401) // issued before the restart, still reached
    } finally {
      await second.stop()
    }
  })

  it('drops a torn last journal line: a change the crash cut off before it was answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-torn-'))
    const first = await startServe(['--data-dir', dir])
    await post(first.url, '/api/auth/login', { email: 'demo@example.com', password: 'password' })
    await first.stop()
    writeFileSync(join(dir, 'journal.ndjson'), '{"store":{"families":[{"id":"fam_torn"', { flag: 'a' })
    const again = await startServe(['--data-dir', dir])
    try {
      expect(again.banner).toContain(`data: ${dir}, 1 session(s) restored`)
    } finally {
      await again.stop()
    }
  })
})
