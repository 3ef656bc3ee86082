import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, resolveServerConfig } from './config.js'

describe('resolveServerConfig', () => {
  it('has the documented defaults', () => {
    const config = resolveServerConfig({}, {})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      accessTtlMs: 15 * 60_000,
      refreshTtlMs: 168 * 3_600_000,
      sessionTtlMs: 30 * 86_400_000,
      reuseGraceMs: 0,
      secretSource: 'random',
      statelessAccess: false,
    })
    expect(config.users).toEqual([{ id: 'usr_1', email: 'demo@example.com', password: 'password', name: 'demo' }])
    expect(config.secret).toHaveLength(32)
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('reads the environment, and flags win over it', () => {
    const env = {
      PORT: '5000',
      HOST: '0.0.0.0',
      REFRESH_LAB_TOKEN: 'a-lab-token-of-some-length',
      JWT_ACCESS_EXPIRY: '30s',
      JWT_REFRESH_EXPIRY: '7d',
      JWT_SECRET: 'from-env',
    }
    expect(resolveServerConfig({}, env)).toMatchObject({
      port: 5000,
      host: '0.0.0.0',
      accessTtlMs: 30_000,
      refreshTtlMs: 7 * 86_400_000,
      secretSource: 'env',
    })
    const config = resolveServerConfig({ port: '0', accessTtl: '1h30m', secret: 'from-flag' }, env)
    expect(config).toMatchObject({ port: 0, accessTtlMs: 5_400_000, secretSource: 'flag' })
    expect(new TextDecoder().decode(config.secret)).toBe('from-flag')
  })

  it('takes several users, splitting each at its first colon', () => {
    const { users } = resolveServerConfig({ users: ['a@x.io:pa:ss', 'b@x.io:pw'] }, {})
    expect(users.map((u) => [u.id, u.email, u.password])).toEqual([
      ['usr_1', 'a@x.io', 'pa:ss'],
      ['usr_2', 'b@x.io', 'pw'],
    ])
  })

  it.each([
    [{ accessTtl: '30' }, {}, /^--access-ttl: invalid duration "30"/],
    [{}, { JWT_ACCESS_EXPIRY: '15 minutes' }, /^JWT_ACCESS_EXPIRY: invalid duration "15 minutes"/],
    [{}, { JWT_REFRESH_EXPIRY: 'week' }, /^JWT_REFRESH_EXPIRY: invalid duration "week"/],
    [{ accessTtl: '0s' }, {}, /^--access-ttl: "0s" must be at least 1ms/],
    [{ reuseGrace: 'soon' }, {}, /^--reuse-grace: invalid duration "soon"/],
    [{ port: '70000' }, {}, /^--port: "70000" is not a port number/],
    [{}, { PORT: 'http' }, /^PORT: "http" is not a port number/],
    [{ users: ['nobody'] }, {}, /^--user: "nobody" is not email:password/],
    [{ users: ['a@x.io:1', 'A@x.io:2'] }, {}, /^--user: "A@x.io" is given twice/],
    [{ secret: '' }, {}, /^--secret: the secret must not be empty/],
    [{ host: ' 127.0.0.1' }, {}, /^--host: " 127.0.0.1" is not a host name or IP address/],
    [{ host: '0.0.0.0' }, {}, /^--host 0\.0\.0\.0 is not a loopback address: .* give --lab-token/],
    [{ host: '0.0.0.0', labToken: 'short' }, {}, /^--lab-token: use at least 16 characters/],
    [
      { labToken: 'correct horse battery staple' },
      {},
      /^--lab-token: a token sent in an Authorization header must be printable ASCII with no spaces$/,
    ],
    [
      {},
      { REFRESH_LAB_TOKEN: 'tab\tseparated-lab-token' },
      /^REFRESH_LAB_TOKEN: a token sent in an Authorization header must be printable/,
    ],
    [{ labToken: 'lab-token-with-ümlaut-1234' }, {}, /^--lab-token: a token sent in an Authorization header must be printable/],
    [{ cors: ['localhost:8081'] }, {}, /^--cors: "localhost:8081" is not an origin/],
    [{ allowedHosts: ['http://mybox.local'] }, {}, /^--allowed-host: "http:\/\/mybox\.local" is not a host name/],
    [{ allowedHosts: ['mybox.local:4000'] }, {}, /^--allowed-host: "mybox\.local:4000" is not a host name/],
    [{}, { HOST: 'http://x' }, /^HOST: "http:\/\/x" is not a host name/],
  ])('refuses %j %j with one line naming the setting', (flags, env, message) => {
    expect(() => resolveServerConfig(flags, env)).toThrow(ConfigError)
    expect(() => resolveServerConfig(flags, env)).toThrow(message)
  })

  it('takes --store memory or a redis:// URL (REFRESH_LAB_STORE), and refuses --data-dir beside Redis in one line', () => {
    expect(resolveServerConfig({}, {}).store).toBe('memory')
    expect(resolveServerConfig({}, { REFRESH_LAB_STORE: 'redis://127.0.0.1:6380/2' }).store).toBe('redis://127.0.0.1:6380/2')
    expect(() => resolveServerConfig({ store: 'postgres://x' }, {})).toThrow(/^--store: .*redis:\/\//)
    expect(() => resolveServerConfig({ store: 'redis://h:1/abc' }, {})).toThrow(ConfigError)
    expect(() => resolveServerConfig({ store: 'redis://127.0.0.1:6379/0', dataDir: '/tmp/x' }, {})).toThrow(
      /^--data-dir: not with a Redis --store/,
    )
  })
})

describe('--users <file>', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-users-'))
  const file = (name: string, text: string) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  it('reads users with their claims; the file alone replaces the default user, --user adds to it', () => {
    const path = file('ok.json', JSON.stringify([{ email: 'ada@example.com', password: 's3cret', name: 'Ada', claims: { role: 'admin' } }]))
    expect(resolveServerConfig({ usersFile: path }, {}).users).toEqual([
      { id: 'usr_1', email: 'ada@example.com', password: 's3cret', name: 'Ada', claims: { role: 'admin' } },
    ])
    const both = resolveServerConfig({ usersFile: path, users: ['bob@example.com:pw'] }, {}).users
    expect(both.map((user) => user.email)).toEqual(['bob@example.com', 'ada@example.com'])
  })

  it.each([
    ['missing.json', undefined, /^--users: cannot read .*missing\.json \(ENOENT\)$/],
    ['garbage.json', '{not json', /^--users: .*garbage\.json is not valid JSON$/],
    ['object.json', '{"email":"a@b.c"}', /must hold a non-empty list/],
    ['empty.json', '[]', /must hold a non-empty list/],
    ['no-password.json', '[{"email":"a@b.c"}]', /user 1: "password" must be a non-empty string$/],
    ['bad-email.json', '[{"email":"nobody","password":"x"}]', /user 1: "email" must be an email address$/],
    ['typo.json', '[{"email":"a@b.c","password":"x","claim":{}}]', /user 1 has "claim"/],
    ['reserved.json', '[{"email":"a@b.c","password":"x","claims":{"sub":"root"}}]', /the claim "sub" is refresh-lab's own/],
    ['twice.json', '[{"email":"a@b.c","password":"x"},{"email":"A@b.c","password":"y"}]', /"A@b.c" is given twice/],
  ])('%s: one line naming the file and what is wrong', (name, text, message) => {
    const path = text === undefined ? join(dir, name) : file(name, text)
    expect(() => resolveServerConfig({ usersFile: path }, {})).toThrow(ConfigError)
    expect(() => resolveServerConfig({ usersFile: path }, {})).toThrow(message)
  })
})

describe('--client-id and --redirect-uri', () => {
  it('registers a client with its exact redirect URIs', () => {
    const config = resolveServerConfig({ clientId: 'web', redirectUris: ['https://app.example/cb', 'myapp:/cb'] }, {})
    expect(config.clients).toEqual([{ id: 'web', redirectUris: ['https://app.example/cb', 'myapp:/cb'] }])
  })

  it.each([
    [{ clientId: 'web' }, /^--client-id: give its redirect URIs/],
    [{ redirectUris: ['https://app.example/cb'] }, /^--redirect-uri: belongs to a client/],
    [{ clientId: 'refresh-lab-client', redirectUris: ['https://app.example/cb'] }, /is built in/],
    [
      { clientId: 'web', redirectUris: ['https://app.example/cb#frag'] },
      /^--redirect-uri: "https:\/\/app.example\/cb#frag" is not an absolute URL/,
    ],
    [{ clientId: 'web', redirectUris: ['/relative'] }, /is not an absolute URL/],
  ])('refuses %j', (flags, message) => {
    expect(() => resolveServerConfig(flags, {})).toThrow(message)
  })
})
