import { type ChildProcess, spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { BIN } from './support/cli.js'

/**
 * `serve --exit-with-parent` with a real parent that dies by SIGKILL (it gets no chance to clean
 * up), started directly and through `sh -c` as npx starts it. The server's stdout is the test's
 * pipe, shared with nobody else once the parent is dead: the pipe ending is the server exiting.
 */
const PARENT = `
const { spawn } = require('node:child_process')
const [bin, how, ...args] = process.argv.slice(1)
const quoted = [process.execPath, bin, 'serve', ...args].map((arg) => "'" + arg + "'").join(' ')
// Through a shell that stays (a command after the server's), as npm exec's sh -c does.
if (how === 'shell') spawn('sh', ['-c', quoted + '; echo shell-done'], { stdio: ['ignore', 'inherit', 'inherit'] })
else spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
setInterval(() => undefined, 1 << 30)
`

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))])
}

describe('serve --exit-with-parent', () => {
  it.each(['direct', 'shell'])('exits when its parent is killed with SIGKILL (%s)', async (how) => {
    const { PATH, HOME } = process.env
    // Its own process group, so whatever is left after a failure can be cleaned up by the group's id.
    const parent: ChildProcess = spawn(process.execPath, ['-e', PARENT, BIN, how, '--port', '0', '--exit-with-parent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH, HOME },
      detached: true,
    })
    let out = ''
    parent.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    parent.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const ended = new Promise<void>((resolve) => parent.stdout?.once('end', resolve))
    try {
      await within(
        new Promise<void>((resolve) => {
          const check = () => (/^lab: /m.test(out) ? resolve() : parent.stdout?.once('data', check))
          check()
        }),
        15_000,
        'serve printed its banner',
      )
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1] as string
      expect((await fetch(`${url}/_lab/stats`)).status).toBe(200)
      expect(out).not.toContain('closing')

      parent.kill('SIGKILL')
      await within(ended, 10_000, 'serve exited after its parent died')
      expect(out).toMatch(/refresh-lab: --exit-with-parent: .* is gone, closing/)
      await expect(fetch(`${url}/_lab/stats`)).rejects.toThrow()
    } finally {
      try {
        process.kill(-(parent.pid as number), 'SIGKILL')
      } catch {
        // the group is already gone: nothing left behind
      }
    }
  })
})
