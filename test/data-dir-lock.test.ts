import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli, startServe } from './support/cli.js'

const login = (url: string) =>
  fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
  }).then((res) => res.status)

describe('--data-dir lock: one server per directory', () => {
  it('refuses a second server on a directory in use with one line naming the holder, and loses nothing the first answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-lock-'))
    const lock = join(dir, 'lock')
    const first = await startServe(['--data-dir', dir])
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(first.child.pid))
    for (let i = 0; i < 5; i += 1) expect(await login(first.url)).toBe(200)

    const second = await runCli(['serve', '--port', '0', '--data-dir', dir])
    expect(second.code).toBe(2)
    expect(second.stderr.trim()).toBe(
      `refresh-lab: --data-dir: ${dir} is in use by PID ${first.child.pid} (lock file ${lock}); stop that server, or delete the lock file if that PID is not a refresh-lab`,
    )

    expect(await login(first.url)).toBe(200) // the first server is untouched and still journals
    expect((await first.stop('SIGTERM')).code).toBe(0)
    expect(existsSync(lock)).toBe(false) // a clean close gives the lock up

    const again = await startServe(['--data-dir', dir])
    try {
      expect(again.banner).toContain(`data: ${dir}, 6 session(s) restored`)
    } finally {
      await again.stop()
    }
  })

  it('takes over the stale lock a kill -9 leaves, with one line on stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-stale-'))
    const lock = join(dir, 'lock')
    const first = await startServe(['--data-dir', dir])
    expect(await login(first.url)).toBe(200)
    const dead = first.child.pid
    first.child.kill('SIGKILL')
    await new Promise((resolve) => first.child.once('close', resolve))
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(dead)) // kill -9 leaves the lock behind

    const again = await startServe(['--data-dir', dir])
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(again.child.pid))
    expect(again.banner).toContain(`data: ${dir}, 1 session(s) restored`)
    const { stderr } = await again.stop()
    expect(stderr.trim()).toBe(`refresh-lab: --data-dir: taking over the stale lock ${lock} of PID ${dead}, which is no longer running`)
  })
})
