import { mkdtempSync, writeFileSync } from 'node:fs'
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
        const answer = await post(serve.url, '/api/auth/refresh', { refresh_token: session.acknowledged.refresh_token }).catch(() => undefined)
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

  it('refuses to start over a corrupt data dir, with one line, instead of losing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-corrupt-'))
    writeFileSync(join(dir, 'journal.ndjson'), '{"store":{}}\nnot json\n{"store":{}}\n')
    const result = await runCli(['serve', '--port', '0', '--data-dir', dir])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(`refresh-lab: --data-dir: ${join(dir, 'journal.ndjson')} is corrupt at line 2; refresh-lab will not start over it and lose data: move it away to start empty`)
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
