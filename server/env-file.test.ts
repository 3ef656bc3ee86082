import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveServerConfig } from './config.js'
import { ConfigError } from './config-error.js'
import { environmentWithEnvFile } from './env-file.js'

describe('environmentWithEnvFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-env-'))
  writeFileSync(join(dir, '.env'), '# the lesson sets this while testing refresh\nJWT_ACCESS_EXPIRY=30s\nJWT_SECRET="from the file"\n')
  writeFileSync(join(dir, 'ci.env'), 'JWT_ACCESS_EXPIRY=5s\n')

  it('reads .env in the working directory, and variables already set win', () => {
    const env = environmentWithEnvFile(undefined, { JWT_SECRET: 'from-the-shell' }, dir)
    expect(env).toMatchObject({ JWT_ACCESS_EXPIRY: '30s', JWT_SECRET: 'from-the-shell' })
    expect(resolveServerConfig({}, env).accessTtlMs).toBe(30_000)
  })

  it('reads --env instead when given', () => {
    expect(environmentWithEnvFile('ci.env', {}, dir)).toEqual({ JWT_ACCESS_EXPIRY: '5s' })
  })

  it('never takes NODE_OPTIONS from the file', () => {
    writeFileSync(join(dir, 'node-options.env'), 'NODE_OPTIONS=--require ./x.cjs\nJWT_ACCESS_EXPIRY=5s\n')
    expect(environmentWithEnvFile('node-options.env', {}, dir)).toEqual({ JWT_ACCESS_EXPIRY: '5s' })
  })

  it('leaves the environment alone without a .env', () => {
    const empty = mkdtempSync(join(tmpdir(), 'refresh-lab-noenv-'))
    const env = { PORT: '1' }
    expect(environmentWithEnvFile(undefined, env, empty)).toBe(env)
  })

  it('refuses a missing --env file with one line', () => {
    expect(() => environmentWithEnvFile('nope.env', {}, dir)).toThrow(ConfigError)
    expect(() => environmentWithEnvFile('nope.env', {}, dir)).toThrow(/^--env: cannot read nope\.env \(ENOENT\)$/)
  })
})
