import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, runCli, startServe } from './support/cli.js'

/** The command exec runs: reports what it was given and how the lab answered, then exits with `code`. */
function probe(code: number): string[] {
  const script = `
    const url = process.env.REFRESH_LAB_URL
    const headers = process.env.REFRESH_LAB_TOKEN ? { authorization: 'Bearer ' + process.env.REFRESH_LAB_TOKEN } : {}
    fetch(url + '/_lab/stats', { headers }).then(async (answer) => {
      console.log(JSON.stringify({ url, token: process.env.REFRESH_LAB_TOKEN, pid: process.pid, status: answer.status, stats: await answer.json() }))
      process.exit(${code})
    })`
  return ['node', '-e', script]
}

interface Probed {
  url: string
  token?: string
  pid: number
  status: number
  stats: { requests?: unknown }
}

async function answers(url: string): Promise<boolean> {
  return fetch(`${url}/_lab/stats`).then(
    () => true,
    () => false,
  )
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('refresh-lab exec', () => {
  it.each([0, 7])('runs the command against a lab and exits with its code (%i), leaving nothing behind', async (code) => {
    const result = await runCli(['exec', '--port', '0', '--', ...probe(code)])
    expect(result.code, result.stderr).toBe(code)
    const probed = JSON.parse(result.stdout) as Probed
    expect(probed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(probed.status).toBe(200)
    expect(probed.stats).toHaveProperty('requests')
    expect(probed.token).toBeUndefined()
    expect(await answers(probed.url)).toBe(false)
    expect(alive(probed.pid)).toBe(false)
  })

  it('passes the serve settings on, and the lab token as REFRESH_LAB_TOKEN', async () => {
    const token = 'exec-test-lab-token-0123456789'
    const result = await runCli(['exec', '--port', '0', '--lab-token', token, '--', ...probe(0)])
    expect(result.code, result.stderr).toBe(0)
    const probed = JSON.parse(result.stdout) as Probed
    expect(probed.token).toBe(token)
    expect(probed.status).toBe(200) // the token let it in: without one the lab API says 401
  })

  it('exits with 128 + the signal number when a signal ends the command, as a shell does', async () => {
    const result = await runCli(['exec', '--port', '0', '--', 'node', '-e', "process.kill(process.pid, 'SIGTERM')"])
    expect(result.code).toBe(128 + 15)
  })

  it('forwards SIGTERM to the command, waits for it, then stops the lab', async () => {
    const script = `
      process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(42) })
      console.log(JSON.stringify({ url: process.env.REFRESH_LAB_URL, pid: process.pid }))
      setInterval(() => undefined, 1000)`
    const child = spawn(process.execPath, [BIN, 'exec', '--port', '0', '--', 'node', '-e', script], {
      env: { PATH: process.env['PATH'] },
    })
    let out = ''
    const first = new Promise<{ url: string; pid: number }>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n')[0]
        if (out.includes('\n') && line) resolve(JSON.parse(line) as { url: string; pid: number })
      }),
    )
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
    const { url, pid } = await first
    expect(await answers(url)).toBe(true)
    child.kill('SIGTERM')
    expect(await closed).toBe(42)
    expect(out).toContain('got SIGTERM')
    expect(await answers(url)).toBe(false)
    expect(alive(pid)).toBe(false)
  })

  it('says so in one line and exits 2 when no command follows --', async () => {
    const result = await runCli(['exec', '--port', '0', '--'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^refresh-lab: exec: no command to run/)])
  })

  it('says so in one line and exits 127, as a shell does, when the command does not exist', async () => {
    const result = await runCli(['exec', '--port', '0', '--', 'refresh-lab-no-such-command'])
    expect(result.code).toBe(127)
    expect(result.stderr).toMatch(/^refresh-lab: exec: cannot run refresh-lab-no-such-command: command not found$/m)
    expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })
})

describe('serve --port-file', () => {
  it('writes the port it bound with --port 0, just the number and a newline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'refresh-lab-port-file-'))
    const file = join(dir, 'port')
    const server = await startServe(['--port-file', file])
    try {
      const text = await readFile(file, 'utf8')
      expect(text).toMatch(/^\d+\n$/)
      expect(server.url).toBe(`http://127.0.0.1:${text.trim()}`)
      expect((await fetch(`http://127.0.0.1:${text.trim()}/_lab/stats`)).status).toBe(200)
    } finally {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
