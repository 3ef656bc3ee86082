import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli, startServe } from './support/cli.js'

const present = (path: string) => {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/**
 * What stops a start in a data dir is the user's to fix: one line, exit 2, nothing half-written
 * left. Once running, a write that fails stops the server (exit 70) with one line.
 */
describe('--data-dir that cannot be used', () => {
  // /dev/full answers every write with ENOSPC: a full disk, without privileges to mount a small one.
  it.skipIf(!existsSync('/dev/full')).each(['keys.json', 'state.json'])(
    'a full disk while writing %s: one line, exit 2, no temporary file left',
    async (file) => {
      const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-full-'))
      symlinkSync('/dev/full', join(dir, `${file}.tmp`))
      const result = await runCli(['serve', '--port', '0', '--data-dir', dir])
      expect(result.stderr.trim()).toBe(`refresh-lab: --data-dir: cannot write ${join(dir, `${file}.tmp`)} (ENOSPC)`)
      expect(result.code).toBe(2)
      expect(present(join(dir, `${file}.tmp`))).toBe(false)
      expect(existsSync(join(dir, 'lock'))).toBe(false)
    },
  )

  it('a temporary file that cannot be created (here a directory in its place): one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-eisdir-'))
    mkdirSync(join(dir, 'keys.json.tmp'))
    const result = await runCli(['serve', '--port', '0', '--data-dir', dir])
    expect(result.stderr.trim()).toBe(`refresh-lab: --data-dir: cannot write ${join(dir, 'keys.json.tmp')} (EISDIR)`)
    expect(result.code).toBe(2)
  })

  // chmod does not stop root; sysfs refuses new files to everyone (EACCES), like a read-only mount.
  it.skipIf(!existsSync('/sys/kernel'))('a directory nothing can be written to: one line, exit 2', async () => {
    const result = await runCli(['serve', '--port', '0', '--data-dir', '/sys/kernel'])
    expect(result.stderr.trim()).toMatch(/^refresh-lab: --data-dir: cannot write \/sys\/kernel\/lock\.\d+\.tmp \((EACCES|EROFS|EPERM)\)$/)
    expect(result.code).toBe(2)
  })

  it('a path under a regular file: one line, exit 2', async () => {
    const result = await runCli(['serve', '--port', '0', '--data-dir', '/dev/null/data'])
    expect(result.stderr.trim()).toBe('refresh-lab: --data-dir: cannot use /dev/null/data (ENOTDIR)')
    expect(result.code).toBe(2)
  })

  it('another --alg on a directory that keeps a generated key: one line naming the --alg it was made for, keys.json kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-alg-'))
    const first = await startServe(['--data-dir', dir, '--alg', 'ES256'])
    await first.stop()
    const keys = readFileSync(join(dir, 'keys.json'), 'utf8')
    const result = await runCli(['serve', '--port', '0', '--data-dir', dir, '--alg', 'RS256'])
    expect(result.stderr.trim()).toBe(
      "refresh-lab: --alg RS256: the --data-dir's keys.json holds a key for --alg ES256; start with --alg ES256, or move keys.json away for a new key (tokens signed with the old one stop verifying)",
    )
    expect(result.code).toBe(2)
    expect(readFileSync(join(dir, 'keys.json'), 'utf8')).toBe(keys)
    expect(existsSync(join(dir, 'lock'))).toBe(false)
  })

  it.skipIf(!existsSync('/dev/full'))(
    'a full disk at a reset once running: the server stops with one line rather than answer on a state the disk never saw',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-full-reset-'))
      const serve = await startServe(['--data-dir', dir])
      symlinkSync('/dev/full', join(dir, 'state.json.tmp'))
      const closed = new Promise<number | null>((resolve) => serve.child.once('close', resolve))
      const reset = await fetch(`${serve.url}/_lab/reset`, { method: 'POST' }).then(
        (res) => res.status,
        () => 'no answer',
      )
      expect(reset).toBe('no answer')
      expect(await closed).toBe(70)
      const { stderr } = await serve.stop()
      expect(stderr.trim()).toBe(
        `refresh-lab: --data-dir: cannot write ${join(dir, 'state.json.tmp')} (ENOSPC); stopping rather than lose answered changes`,
      )
      expect(present(join(dir, 'state.json.tmp'))).toBe(false)
      expect(existsSync(join(dir, 'lock'))).toBe(false)
    },
  )
})
