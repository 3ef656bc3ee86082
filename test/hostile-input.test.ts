import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveServerConfig } from '../server/config.js'
import { startServer, type RunningServer } from '../server/start.js'
import { decode, lab, type CallOptions } from './support/app.js'

/**
 * Hostile input, as a table: every row is a request a broken or malicious client could send, with
 * the 4xx and error code it must get. None may get a 500, and the server answers the next request.
 */
const SECRET = 'test-secret-test-secret-test-secret'
const secretKey = new TextEncoder().encode(SECRET)
const now = () => Math.floor(Date.now() / 1000)

/** A token signed with the server's own secret: the claims of a real one, any of them replaced by `claims`. */
async function signed(claims: Record<string, unknown>, options: { key?: Uint8Array; header?: Record<string, unknown> } = {}) {
  const payload = {
    iss: 'http://localhost',
    aud: 'refresh-lab',
    sub: 'usr_1',
    sid: 'fam_x',
    jti: '1.abc',
    typ: 'access',
    iat: now(),
    exp: now() + 600,
  }
  return new SignJWT({ ...payload, ...claims }).setProtectedHeader({ alg: 'HS256', ...options.header }).sign(options.key ?? secretKey)
}

/**
 * The same token with another last character that decodes to the same bytes: an HS256 signature is
 * 32 bytes, 43 characters, whose last carries 2 bits beyond them.
 */
function respell(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(token.at(-1) as string)
  return token.slice(0, -1) + alphabet[last ^ 1]
}

const json = (value: unknown): CallOptions => ({ json: value })
const raw = (body: string, contentType = 'application/json'): CallOptions => ({ body, headers: { 'content-type': contentType } })
const bearer = (value: string): CallOptions => ({ headers: { authorization: value } })
const login = (body: CallOptions) => ['POST', '/api/auth/login', body] as const
const refresh = (body: CallOptions) => ['POST', '/api/auth/refresh', body] as const
const register = (body: CallOptions) => ['POST', '/api/auth/register', body] as const
const users = (options: CallOptions) => ['GET', '/api/users', options] as const

const deepArray = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
let deepObject = '"x"'
for (let i = 0; i < 500; i += 1) deepObject = `{"a":${deepObject}}`

type Row = [name: string, request: () => Promise<readonly [string, string, CallOptions]>, status: number, code: string]
const rows: Row[] = [
  // Malformed and truncated JSON, wrong content type
  ['truncated JSON', async () => login(raw('{"email":"demo@example.com","pass')), 400, 'VALIDATION_ERROR'],
  ['unquoted keys', async () => login(raw('{email:"demo@example.com"}')), 400, 'VALIDATION_ERROR'],
  ['single quotes', async () => login(raw("{'email':'demo@example.com'}")), 400, 'VALIDATION_ERROR'],
  ['a trailing comma', async () => login(raw('{"email":"a@b.c","password":"x",}')), 400, 'VALIDATION_ERROR'],
  ['an empty body', async () => login(raw('')), 400, 'VALIDATION_ERROR'],
  ['a body of blanks', async () => login(raw('   \n ')), 400, 'VALIDATION_ERROR'],
  [
    'a form-encoded body',
    async () => login(raw('email=demo%40example.com&password=password', 'application/x-www-form-urlencoded')),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a multipart body',
    async () => login(raw('--b\r\nContent-Disposition: form-data; name="email"\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b')),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  ['an XML body', async () => login(raw('<login><email>x</email></login>', 'application/xml')), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  // JSON under another media type: what a page of another origin can send without a preflight
  [
    'JSON sent as text/plain',
    async () => login(raw('{"email":"demo@example.com","password":"password"}', 'text/plain')),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'JSON sent as text/json',
    async () => login(raw('{"email":"demo@example.com","password":"password"}', 'text/json')),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'JSON sent as application/jsonx',
    async () => login(raw('{"email":"a@b.c","password":"p"}', 'application/jsonx')),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a registration sent as text/plain',
    async () => ['POST', '/api/auth/register', raw('{"email":"csrf@example.com","password":"password1"}', 'text/plain')] as const,
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  // JSON of the wrong shape
  ['a JSON array', async () => login(json([])), 422, 'VALIDATION_ERROR'],
  ['a JSON number', async () => login(raw('42')), 422, 'VALIDATION_ERROR'],
  ['JSON null', async () => login(raw('null')), 422, 'VALIDATION_ERROR'],
  ['a JSON string', async () => login(raw('"demo@example.com"')), 422, 'VALIDATION_ERROR'],
  ['JSON true', async () => login(raw('true')), 422, 'VALIDATION_ERROR'],
  ['deeply nested arrays', async () => login(raw(deepArray)), 422, 'VALIDATION_ERROR'],
  ['a deeply nested object in a field', async () => login(raw(`{"email":${deepObject},"password":"p"}`)), 422, 'VALIDATION_ERROR'],
  ['duplicate keys', async () => login(raw('{"email":"x@y.z","email":"demo@example.com","password":"password"}')), 400, 'VALIDATION_ERROR'],
  [
    'duplicate keys, nested',
    async () => login(raw('{"email":"demo@example.com","password":"password","meta":{"a":1,"a":2}}')),
    400,
    'VALIDATION_ERROR',
  ],
  // Missing, extra, mistyped and empty fields
  ['no password', async () => login(json({ email: 'demo@example.com' })), 422, 'VALIDATION_ERROR'],
  ['no email', async () => login(json({ password: 'password' })), 422, 'VALIDATION_ERROR'],
  ['an email that is a number', async () => login(json({ email: 42, password: 'password' })), 422, 'VALIDATION_ERROR'],
  [
    'a password that is an object',
    async () => login(json({ email: 'demo@example.com', password: { $ne: null } })),
    422,
    'VALIDATION_ERROR',
  ],
  ['a password that is an array', async () => login(json({ email: 'demo@example.com', password: ['password'] })), 422, 'VALIDATION_ERROR'],
  ['an email that is null', async () => login(json({ email: null, password: 'password' })), 422, 'VALIDATION_ERROR'],
  ['an empty email', async () => login(json({ email: '', password: 'password' })), 422, 'VALIDATION_ERROR'],
  ['an empty password', async () => login(json({ email: 'demo@example.com', password: '' })), 422, 'VALIDATION_ERROR'],
  [
    'extra fields with a wrong password',
    async () => login(json({ email: 'demo@example.com', password: 'nope', admin: true })),
    401,
    'INVALID_CREDENTIALS',
  ],
  ['a 1 MB email', async () => login(json({ email: 'a'.repeat(1 << 20), password: 'x' })), 413, 'PAYLOAD_TOO_LARGE'],
  ['a 60 KB email, under the limit', async () => login(json({ email: 'a'.repeat(60_000), password: 'x' })), 401, 'INVALID_CREDENTIALS'],
  ['unicode in the email', async () => login(json({ email: 'ḋemo@例え.jp', password: 'пароль' })), 401, 'INVALID_CREDENTIALS'],
  [
    'a NUL byte in the email',
    async () => login(json({ email: 'demo\u0000@example.com', password: 'password' })),
    401,
    'INVALID_CREDENTIALS',
  ],
  [
    'a NUL byte in the password',
    async () => login(json({ email: 'demo@example.com', password: 'password\u0000' })),
    401,
    'INVALID_CREDENTIALS',
  ],
  ['lone surrogates', async () => login(raw('{"email":"\\ud800@x.y","password":"\\udfff"}')), 401, 'INVALID_CREDENTIALS'],
  // Registrations: every field bounded, so registering costs bounded memory
  [
    'a 60 KB name',
    async () => register(json({ email: 'big@x.io', password: 'password1', name: 'n'.repeat(60_000) })),
    422,
    'VALIDATION_ERROR',
  ],
  [
    'a 300-character email',
    async () => register(json({ email: `${'a'.repeat(290)}@x.io`, password: 'password1' })),
    422,
    'VALIDATION_ERROR',
  ],
  ['a 2 000-character password', async () => register(json({ email: 'long@x.io', password: 'p'.repeat(2_000) })), 422, 'VALIDATION_ERROR'],
  // Refresh bodies
  ['refresh without refresh_token', async () => refresh(json({})), 422, 'VALIDATION_ERROR'],
  ['a numeric refresh_token', async () => refresh(json({ refresh_token: 12345 })), 422, 'VALIDATION_ERROR'],
  ['an empty refresh_token', async () => refresh(json({ refresh_token: '' })), 422, 'VALIDATION_ERROR'],
  ['a 1 MB refresh_token', async () => refresh(json({ refresh_token: 'r'.repeat(1 << 20) })), 413, 'PAYLOAD_TOO_LARGE'],
  ['a 50 KB garbage refresh_token', async () => refresh(json({ refresh_token: 'r'.repeat(50_000) })), 401, 'INVALID_REFRESH_TOKEN'],
  ['a refresh_token with a NUL byte', async () => refresh(json({ refresh_token: 'abc\u0000def' })), 401, 'INVALID_REFRESH_TOKEN'],
  ['an access token at /refresh', async () => refresh(json({ refresh_token: await signed({}) })), 401, 'INVALID_REFRESH_TOKEN'],
  ['an array at /refresh', async () => refresh(json([{ refresh_token: 'x' }])), 422, 'VALIDATION_ERROR'],
  // Bearer headers
  ['no Authorization header', async () => users({}), 401, 'MISSING_TOKEN'],
  ['an empty Authorization header', async () => users(bearer('')), 401, 'MISSING_TOKEN'],
  ['"Bearer" and nothing else', async () => users(bearer('Bearer')), 401, 'INVALID_TOKEN'],
  ['"Bearer" and blanks', async () => users(bearer('Bearer    ')), 401, 'INVALID_TOKEN'],
  ['a token without the scheme', async () => users(bearer(await signed({}))), 401, 'INVALID_TOKEN'],
  ['two schemes', async () => users(bearer(`Bearer Bearer ${await signed({})}`)), 401, 'INVALID_TOKEN'],
  ['the Basic scheme', async () => users(bearer('Basic ZGVtbzpwYXNzd29yZA==')), 401, 'INVALID_TOKEN'],
  ['garbage', async () => users(bearer('Bearer %%%$$$')), 401, 'INVALID_TOKEN'],
  ['three dots of garbage', async () => users(bearer('Bearer a.b.c')), 401, 'INVALID_TOKEN'],
  ['an 8 KB token', async () => users(bearer(`Bearer ${'x'.repeat(8_000)}`)), 401, 'INVALID_TOKEN'],
  // JWT tampering
  [
    'alg:none',
    async () =>
      users(
        bearer(
          `Bearer ${new UnsecuredJWT({ sid: 'fam_x', typ: 'access', sub: 'usr_1', jti: '1.a', iat: now() })
            .setIssuer('http://localhost')
            .setAudience('refresh-lab')
            .setExpirationTime(now() + 600)
            .encode()}`,
        ),
      ),
    401,
    'INVALID_TOKEN',
  ],
  [
    'a flipped signature byte',
    async () => {
      const token = await signed({})
      const last = token.at(-2) === 'A' ? 'B' : 'A'
      return users(bearer(`Bearer ${token.slice(0, -2)}${last}${token.at(-1)}`))
    },
    401,
    'INVALID_TOKEN',
  ],
  [
    'a changed payload',
    async () => {
      const [header, , signature] = (await signed({})).split('.')
      const payload = Buffer.from(
        JSON.stringify({
          sub: 'usr_2',
          sid: 'fam_x',
          typ: 'access',
          iss: 'http://localhost',
          aud: 'refresh-lab',
          exp: now() + 600,
          iat: now(),
          jti: '1.a',
        }),
      ).toString('base64url')
      return users(bearer(`Bearer ${header}.${payload}.${signature}`))
    },
    401,
    'INVALID_TOKEN',
  ],
  ['a wrong iss', async () => users(bearer(`Bearer ${await signed({ iss: 'https://evil.example' })}`)), 401, 'INVALID_TOKEN'],
  ['a wrong aud', async () => users(bearer(`Bearer ${await signed({ aud: 'another-api' })}`)), 401, 'INVALID_TOKEN'],
  ['a wrong typ', async () => users(bearer(`Bearer ${await signed({ typ: 'refresh' })}`)), 401, 'INVALID_TOKEN'],
  ['exp in the past', async () => users(bearer(`Bearer ${await signed({ exp: now() - 60 })}`)), 401, 'TOKEN_EXPIRED'],
  ['nbf in the future', async () => users(bearer(`Bearer ${await signed({ nbf: now() + 3_600 })}`)), 401, 'INVALID_TOKEN'],
  // Another spelling of a well-signed token: refused before the verified-token cache
  [
    'a last character differing only in its spare bits',
    async () => users(bearer(`Bearer ${respell(await signed({}))}`)),
    401,
    'INVALID_TOKEN',
  ],
  ['a trailing "="', async () => users(bearer(`Bearer ${await signed({})}=`)), 401, 'INVALID_TOKEN'],
  // Well signed, but a claim the server reads is not a string (it once reached `jti.split` and a 500)
  ['a numeric jti', async () => users(bearer(`Bearer ${await signed({ jti: 123 })}`)), 401, 'INVALID_TOKEN'],
  ['an object for jti', async () => users(bearer(`Bearer ${await signed({ jti: {} })}`)), 401, 'INVALID_TOKEN'],
  [
    'a numeric jti at /me',
    async () => ['GET', '/api/auth/me', bearer(`Bearer ${await signed({ jti: 123 })}`)] as const,
    401,
    'INVALID_TOKEN',
  ],
  [
    'a numeric jti at /logout',
    async () => ['POST', '/api/auth/logout', bearer(`Bearer ${await signed({ jti: 123 })}`)] as const,
    401,
    'INVALID_TOKEN',
  ],
  [
    'a token from a server start with another secret',
    async () => users(bearer(`Bearer ${await signed({}, { key: new TextEncoder().encode('an-old-secret-an-old-secret-an-old') })}`)),
    401,
    'INVALID_TOKEN',
  ],
  [
    'a well-signed token of a session that never existed',
    async () => users(bearer(`Bearer ${await signed({}, { header: { kid: 'nope', typ: 'JWT' } })}`)),
    401,
    'TOKEN_REVOKED',
  ],
  // Routes, methods, paths
  ['an unknown path', async () => ['GET', '/api/nothing', {}] as const, 404, 'ROUTE_NOT_FOUND'],
  ['path traversal', async () => ['GET', '/api/../../etc/passwd', {}] as const, 404, 'ROUTE_NOT_FOUND'],
  ['a 6 KB path', async () => ['GET', `/${'a'.repeat(6_000)}`, {}] as const, 404, 'ROUTE_NOT_FOUND'],
  ['bad percent-encoding', async () => ['GET', '/api/%ZZ%', {}] as const, 404, 'ROUTE_NOT_FOUND'],
  ['the wrong method', async () => ['PUT', '/api/auth/login', json({})] as const, 405, 'METHOD_NOT_ALLOWED'],
  ['a bad _delay', async () => ['GET', '/api/users?_delay=forever', {}] as const, 400, 'VALIDATION_ERROR'],
  ['a bad _wait', async () => ['GET', '/api/users?_wait=forever', {}] as const, 400, 'VALIDATION_ERROR'],
  // The lab control API
  ['a negative clock advance', async () => ['POST', '/_lab/clock', json({ advance: '-5s' })] as const, 422, 'VALIDATION_ERROR'],
  [
    'a fault with status 200',
    async () => ['POST', '/_lab/faults', json({ path: '/api/users', status: 200 })] as const,
    422,
    'VALIDATION_ERROR',
  ],
  ['a non-numeric event cursor', async () => ['GET', '/_lab/events?after=abc', {}] as const, 400, 'VALIDATION_ERROR'],
  ['an unknown config field', async () => ['POST', '/_lab/config', json({ accesTtl: '1s' })] as const, 422, 'VALIDATION_ERROR'],
  ['a revoke of an unknown user', async () => ['POST', '/_lab/revoke', json({ user: 'ghost@x.y' })] as const, 404, 'NOT_FOUND'],
  // Web pages driving the lab: a cross-site POST without a preflight, DNS rebinding
  [
    'a clock move sent as text/plain',
    async () => ['POST', '/_lab/clock', raw('{"advance":"3650d"}', 'text/plain')] as const,
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a config change sent as a form',
    async () => ['POST', '/_lab/config', raw('{"accessTtl":"1s"}', 'application/x-www-form-urlencoded')] as const,
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'a lab read under a rebound name',
    async () => ['GET', '/_lab/sessions', { headers: { host: 'evil.example:4000' } }] as const,
    403,
    'HOST_NOT_ALLOWED',
  ],
  [
    'a lab page under a rebound name',
    async () => ['GET', '/_lab/', { headers: { host: 'evil.example' } }] as const,
    403,
    'HOST_NOT_ALLOWED',
  ],
  [
    'a name that starts like localhost',
    async () => ['GET', '/_lab/stats', { headers: { host: 'localhost.evil.example:4000' } }] as const,
    403,
    'HOST_NOT_ALLOWED',
  ],
  [
    'a name that holds an address',
    async () => ['POST', '/_lab/reset', { headers: { host: '127.0.0.1.nip.io:4000' } }] as const,
    403,
    'HOST_NOT_ALLOWED',
  ],
  [
    'a reset from another origin, no body',
    async () => ['POST', '/_lab/reset', { headers: { origin: 'http://evil.example' } }] as const,
    403,
    'ORIGIN_NOT_ALLOWED',
  ],
  [
    'a revoke from a sandboxed page (Origin: null)',
    async () => ['POST', '/_lab/revoke', { headers: { origin: 'null' } }] as const,
    403,
    'ORIGIN_NOT_ALLOWED',
  ],
  [
    'an expiry from another port of localhost',
    async () => ['POST', '/_lab/expire', { headers: { origin: 'http://localhost:8081' } }] as const,
    403,
    'ORIGIN_NOT_ALLOWED',
  ],
]

describe('hostile input, table-driven', () => {
  const { call } = lab({ secret: SECRET })

  it.each(rows.map(([name, request, status, code]) => [name, status, code, request] as const))(
    '%s → %i %s',
    async (_, status, code, request) => {
      const [method, path, options] = await request()
      const res = await call(method, path, options)
      expect(res.status).toBe(status)
      expect(res.body.error.code).toBe(code)
      expect(typeof res.body.error.message).toBe('string')
      // And the server answers the next request as ever.
      expect((await call('GET', '/_lab/stats')).status).toBe(200)
    },
  )

  it("never answers 500, by its own counters: every row counted under the row's status", async () => {
    // A lab of its own, so this holds whichever of the tests above ran.
    const fresh = lab({ secret: SECRET })
    const answered: number[] = []
    const expected: Record<string, number> = {}
    for (const [, request, status] of rows) {
      const [method, path, options] = await request()
      answered.push((await fresh.call(method, path, options)).status)
      // The server counts what it answered, a 500 under "500"; lab calls are not counted.
      if (!path.startsWith('/_lab/')) expected[status] = (expected[status] ?? 0) + 1
    }
    expect(answered.filter((status) => status >= 500)).toEqual([])
    const stats = (await fresh.call('GET', '/_lab/stats')).body as { requests: Record<string, Record<string, number>> }
    const counted: Record<string, number> = {}
    for (const byStatus of Object.values(stats.requests)) {
      for (const [status, n] of Object.entries(byStatus)) counted[status] = (counted[status] ?? 0) + n
    }
    expect(counted).toEqual(expected)
  })
})

/**
 * GoTrue's routes under `--profile supabase`: the same never-500 promise, in GoTrue's error shape
 * (`{"code","message"}` for a client that says it speaks API 2024-01-01, as supabase-js does, and
 * `{"code":<status>,"error_code","msg"}` for one that does not), with GoTrue's error codes.
 */
type Call = ReturnType<typeof lab>['call']
type GoTrueRow = [name: string, request: (call: Call) => Promise<readonly [string, string, CallOptions]>, status: number, code: string]
const grant = (type: string, body: CallOptions) => ['POST', `/auth/v1/token?grant_type=${type}`, body] as const
const password = (body: CallOptions) => grant('password', body)
const refreshGrant = (body: CallOptions) => grant('refresh_token', body)
const goTrueSignIn = async (call: Call) =>
  (await call('POST', '/auth/v1/token?grant_type=password', { json: { email: 'demo@example.com', password: 'password' } })).body as {
    access_token: string
    refresh_token: string
  }
const goTrueRows: GoTrueRow[] = [
  ['an unknown grant_type', async () => grant('client_credentials', json({})), 400, 'invalid_credentials'],
  [
    'no grant_type',
    async () => ['POST', '/auth/v1/token', json({ email: 'demo@example.com', password: 'password' })] as const,
    400,
    'invalid_credentials',
  ],
  ['an empty grant_type', async () => grant('', json({})), 400, 'invalid_credentials'],
  [
    'a grant_type in another case',
    async () => grant('PASSWORD', json({ email: 'demo@example.com', password: 'password' })),
    400,
    'invalid_credentials',
  ],
  ['a wrong password', async () => password(json({ email: 'demo@example.com', password: 'nope' })), 400, 'invalid_credentials'],
  ['an unknown email', async () => password(json({ email: 'nobody@example.com', password: 'password' })), 400, 'invalid_credentials'],
  ['no password', async () => password(json({ email: 'demo@example.com' })), 400, 'invalid_credentials'],
  ['no email', async () => password(json({ password: 'password' })), 400, 'validation_failed'],
  [
    'a phone number (no user has one)',
    async () => password(json({ phone: '+15550100', password: 'password' })),
    400,
    'invalid_credentials',
  ],
  [
    'an email and a phone',
    async () => password(json({ email: 'demo@example.com', phone: '+15550100', password: 'x' })),
    400,
    'validation_failed',
  ],
  ['an empty body', async () => password(raw('')), 400, 'bad_json'],
  ['truncated JSON', async () => password(raw('{"email":"demo@example.com","pass')), 400, 'bad_json'],
  ['a JSON array', async () => password(json([{ email: 'demo@example.com', password: 'password' }])), 400, 'bad_json'],
  ['a JSON string', async () => password(json('demo@example.com')), 400, 'bad_json'],
  ['a number for the email', async () => password(json({ email: 42, password: 'password' })), 400, 'bad_json'],
  ['an object for the password', async () => password(json({ email: 'demo@example.com', password: {} })), 400, 'bad_json'],
  ['a key twice', async () => password(raw('{"email":"x@example.com","email":"demo@example.com","password":"password"}')), 400, 'bad_json'],
  [
    'JSON sent as text/plain',
    async () => password(raw('{"email":"demo@example.com","password":"password"}', 'text/plain')),
    415,
    'bad_json',
  ],
  [
    'a form-encoded sign-in',
    async () => password(raw('email=demo%40example.com&password=password', 'application/x-www-form-urlencoded')),
    415,
    'bad_json',
  ],
  ['a refresh without refresh_token', async () => refreshGrant(json({})), 400, 'validation_failed'],
  ['a refresh with an empty refresh_token', async () => refreshGrant(json({ refresh_token: '' })), 400, 'validation_failed'],
  ['a refresh_token of 11 characters', async () => refreshGrant(json({ refresh_token: 'abcdefghijk' })), 400, 'validation_failed'],
  ['a refresh_token never issued', async () => refreshGrant(json({ refresh_token: 'A'.repeat(43) })), 400, 'refresh_token_not_found'],
  ['a number for refresh_token', async () => refreshGrant(json({ refresh_token: 1234567890123 })), 400, 'bad_json'],
  ['a refresh with no body', async () => refreshGrant(raw('')), 400, 'bad_json'],
  [
    'an access token sent to refresh',
    async (call) => refreshGrant(json({ refresh_token: (await goTrueSignIn(call)).access_token })),
    400,
    'refresh_token_not_found',
  ],
  [
    'a refresh token spent twice (no grace)',
    async (call) => {
      const { refresh_token } = await goTrueSignIn(call)
      await call(...refreshGrant(json({ refresh_token })))
      return refreshGrant(json({ refresh_token }))
    },
    400,
    'refresh_token_already_used',
  ],
  ['the user without a token', async () => ['GET', '/auth/v1/user', {}] as const, 401, 'no_authorization'],
  [
    'the user with Basic credentials',
    async () => ['GET', '/auth/v1/user', bearer('Basic ZGVtbzpwYXNzd29yZA==')] as const,
    401,
    'no_authorization',
  ],
  ['the user with "Bearer" alone', async () => ['GET', '/auth/v1/user', bearer('Bearer ')] as const, 401, 'no_authorization'],
  ['the user with a garbage token', async () => ['GET', '/auth/v1/user', bearer('Bearer not.a.jwt')] as const, 403, 'bad_jwt'],
  [
    'the user with a refresh token',
    async (call) => ['GET', '/auth/v1/user', { token: (await goTrueSignIn(call)).refresh_token }] as const,
    403,
    'bad_jwt',
  ],
  [
    'the user with a foreign signature',
    async () =>
      ['GET', '/auth/v1/user', { token: await signed({}, { key: new TextEncoder().encode('another-secret-another-secret-xx') }) }] as const,
    403,
    'bad_jwt',
  ],
  [
    'the user with an unsigned token',
    async () => ['GET', '/auth/v1/user', { token: new UnsecuredJWT({ sub: 'usr_1' }).encode() }] as const,
    403,
    'bad_jwt',
  ],
  [
    'the user after sign-out',
    async (call) => {
      const { access_token } = await goTrueSignIn(call)
      await call('POST', '/auth/v1/logout', { token: access_token })
      return ['GET', '/auth/v1/user', { token: access_token }] as const
    },
    403,
    'session_not_found',
  ],
  ['sign-out without a token', async () => ['POST', '/auth/v1/logout', {}] as const, 401, 'no_authorization'],
  [
    'sign-out with an unknown scope',
    async (call) => ['POST', '/auth/v1/logout?scope=all', { token: (await goTrueSignIn(call)).access_token }] as const,
    400,
    'validation_failed',
  ],
  ['a sign-up without an email', async () => ['POST', '/auth/v1/signup', json({ password: 'secret1' })] as const, 400, 'validation_failed'],
  [
    'a sign-up with no @ in the email',
    async () => ['POST', '/auth/v1/signup', json({ email: 'ada.example.com', password: 'secret1' })] as const,
    400,
    'validation_failed',
  ],
  [
    'a sign-up with an email of 300 characters',
    async () => ['POST', '/auth/v1/signup', json({ email: `${'a'.repeat(290)}@x.example`, password: 'secret1' })] as const,
    400,
    'validation_failed',
  ],
  [
    'a sign-up without a password',
    async () => ['POST', '/auth/v1/signup', json({ email: 'ada@example.com' })] as const,
    422,
    'validation_failed',
  ],
  [
    'a sign-up with a 5-character password',
    async () => ['POST', '/auth/v1/signup', json({ email: 'ada@example.com', password: '12345' })] as const,
    422,
    'weak_password',
  ],
  [
    'a sign-up with a password of 2000 characters',
    async () => ['POST', '/auth/v1/signup', json({ email: 'ada@example.com', password: 'p'.repeat(2_000) })] as const,
    422,
    'validation_failed',
  ],
  [
    'a sign-up with a taken email',
    async () => ['POST', '/auth/v1/signup', json({ email: 'demo@example.com', password: 'secret1' })] as const,
    422,
    'user_already_exists',
  ],
  ['a GET of the token endpoint', async () => ['GET', '/auth/v1/token?grant_type=password', {}] as const, 405, 'validation_failed'],
]

describe("hostile input to GoTrue's routes (--profile supabase), table-driven", () => {
  const { call } = lab({ secret: SECRET, profile: 'supabase' })
  const withVersion = (options: CallOptions, version?: string): CallOptions =>
    version === undefined ? options : { ...options, headers: { ...options.headers, 'x-supabase-api-version': version } }

  it.each(goTrueRows.map(([name, request, status, code]) => [name, status, code, request] as const))(
    '%s → %i %s',
    async (_, status, code, request) => {
      const [method, path, options] = await request(call)
      const current = await call(method, path, withVersion(options, '2024-01-01'))
      expect(current.status).toBe(status)
      expect(current.body).toEqual({ code, message: expect.any(String) })
      expect(current.headers.get('x-sb-error-code')).toBe(code)
      // A client that names no API version gets GoTrue's first shape, with the same code.
      const [again, againPath, againOptions] = await request(call)
      const initial = await call(again, againPath, againOptions)
      expect(initial.status).toBe(status)
      expect(initial.body).toEqual({ code: status, error_code: code, msg: expect.any(String) })
      expect((await call('GET', '/_lab/stats')).status).toBe(200)
    },
  )

  it('never answers 500, by its own counters', async () => {
    const fresh = lab({ secret: SECRET, profile: 'supabase' })
    for (const [, request] of goTrueRows) {
      const [method, path, options] = await request(fresh.call)
      expect((await fresh.call(method, path, options)).status).toBeLessThan(500)
    }
    const stats = (await fresh.call('GET', '/_lab/stats')).body as { requests: Record<string, Record<string, number>> }
    const statuses = Object.values(stats.requests).flatMap((byStatus) => Object.keys(byStatus).map(Number))
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    // And it still signs in.
    expect((await goTrueSignIn(fresh.call)).access_token).toBeTypeOf('string')
  })
})

describe('a well-signed token whose claims have the wrong type', () => {
  it.each([
    ['a numeric jti', { jti: 123 }],
    ['an object for jti', { jti: {} }],
    ['a null jti', { jti: null }],
    ['a numeric sub', { sub: 1 }],
    ['an object for sub', { sub: {} }],
    ['a numeric sid', { sid: 7 }],
    ['an array for sid', { sid: ['fam_1'] }],
  ])('%s: 401 INVALID_TOKEN wherever the claims are read, inactive at introspection', async (_, claims) => {
    const { call, login } = lab({ secret: SECRET })
    const { access_token } = await login()
    // A copy of a live session's token, so nothing but the claim's type can refuse it.
    const token = await signed({ ...decode(access_token), ...claims })
    for (const [method, path] of [
      ['GET', '/api/auth/me'],
      ['GET', '/api/users'],
      ['POST', '/api/auth/logout'],
    ] as const) {
      expect(await call(method, path, { token }), `${method} ${path}`).toMatchObject({
        status: 401,
        body: { error: { code: 'INVALID_TOKEN' } },
      })
    }
    expect(await call('POST', '/oauth/introspect', { form: { token } })).toMatchObject({ status: 200, body: { active: false } })
    // The session is untouched: its own token still works.
    expect((await call('GET', '/api/auth/me', { token: access_token })).status).toBe(200)
  })
})

describe('one spelling per token', () => {
  it("refuses a live session's token respelt in its spare bits or padded, and still takes the token as issued", async () => {
    const { call, login } = lab({ secret: SECRET })
    const { access_token } = await login()
    expect(Buffer.from(respell(access_token).split('.')[2] as string, 'base64url')).toEqual(
      Buffer.from(access_token.split('.')[2] as string, 'base64url'),
    )
    for (const token of [respell(access_token), `${access_token}=`]) {
      expect(await call('GET', '/api/auth/me', { token }), token).toMatchObject({ status: 401, body: { error: { code: 'INVALID_TOKEN' } } })
    }
    expect((await call('GET', '/api/auth/me', { token: access_token })).status).toBe(200)
  })
})

describe('algorithm confusion', () => {
  it('refuses an HS256 token signed with the public key of an ES256 server', async () => {
    const { call, lab: labState } = lab({ alg: 'ES256' })
    const jwk = (await labState.tokens.keys()).publicJwk
    const { importJWK } = await import('jose')
    const publicKey = (await importJWK(jwk as object, 'ES256')) as Parameters<typeof exportSPKI>[0]
    const pem = await exportSPKI(publicKey)
    const forged = await signed({}, { key: new TextEncoder().encode(pem) })
    const res = await call('GET', '/api/users', bearer(`Bearer ${forged}`))
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'INVALID_TOKEN' } } })
    // …and a token signed with a different ES256 key is refused too.
    const { privateKey } = await generateKeyPair('ES256')
    const other = await new SignJWT({ sid: 'fam_x', typ: 'access' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('http://localhost')
      .setAudience('refresh-lab')
      .setSubject('usr_1')
      .setJti('1.a')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
    expect((await call('GET', '/api/users', bearer(`Bearer ${other}`))).body.error.code).toBe('INVALID_TOKEN')
  })
})

describe('bodies on a real socket', () => {
  let server: RunningServer
  beforeAll(async () => {
    server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', requestTimeout: '1s' }, {}))
  })
  afterAll(async () => {
    await server.close()
  })

  /** Writes the chunks, the last after `dripMs` each, and resolves with the answer. */
  function send(chunks: string[], dripMs = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1')
      let answer = ''
      socket.on('data', (data) => (answer += data.toString()))
      socket.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(answer) : reject(error),
      )
      socket.on('close', () => resolve(answer))
      let index = 0
      const next = () => {
        if (index >= chunks.length || socket.destroyed) return
        socket.write(chunks[index++] as string)
        setTimeout(next, dripMs)
      }
      next()
      setTimeout(() => socket.destroy(), 10_000)
    })
  }
  const statusOf = (answer: string) => Number(answer.split(' ')[1])
  const codeOf = (answer: string) => (JSON.parse(answer.split('\r\n\r\n')[1] ?? '{}') as { error?: { code?: string } }).error?.code

  it('answers 413 to a body over the limit announced by Content-Length', async () => {
    const answer = await send([
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n`,
      'a'.repeat(100_000),
    ])
    expect([statusOf(answer), codeOf(answer)]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
  })

  it('answers 413 to a chunked body without a length that grows past the limit', async () => {
    const chunk = `${(16_384).toString(16)}\r\n${'a'.repeat(16_384)}\r\n`
    const answer = await send(
      [
        `POST /api/auth/refresh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        ...Array(8).fill(chunk),
        '0\r\n\r\n',
      ],
      5,
    )
    expect([statusOf(answer), codeOf(answer)]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
  })

  it('closes a slow-drip body at the request timeout with 408', async () => {
    const head = 'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n'
    const answer = await send([head, ...'{"email":"demo@example.com",'.split('')], 400)
    expect([statusOf(answer), codeOf(answer)]).toEqual([408, 'REQUEST_TIMEOUT'])
    expect((await fetch(`${server.url}/_lab/stats`)).status).toBe(200)
  })
})

/**
 * The OAuth face's hostile input: every answer is an OAuth error body, an error sent back to a
 * trusted redirect URI, or (when the redirect cannot be trusted) an error page that redirects nowhere.
 */
describe('hostile input at the OAuth endpoints, table-driven', () => {
  const REDIRECT = 'http://127.0.0.1:53682/cb'
  const verifier = 'v'.repeat(43)
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const authorizeQuery = (extra: Record<string, string> = {}) =>
    `/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: 'refresh-lab-client',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 's',
      ...extra,
    })}`
  type Lab = ReturnType<typeof lab>
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  })
  const codeFor = async (l: Lab) =>
    new URL((await l.app.request(authorizeQuery())).headers.get('location') as string).searchParams.get('code') as string
  const exchange = (code: string, extra: Record<string, string> = {}) =>
    form({ grant_type: 'authorization_code', code, client_id: 'refresh-lab-client', redirect_uri: REDIRECT, ...extra })

  type OAuthRow = [name: string, request: (l: Lab) => Promise<Response>, status: number, answer: string]
  const oauthRows: OAuthRow[] = [
    ['a code without its PKCE verifier', async (l) => l.app.request('/oauth/token', exchange(await codeFor(l))), 400, 'invalid_grant'],
    [
      'a code with the wrong PKCE verifier',
      async (l) => l.app.request('/oauth/token', exchange(await codeFor(l), { code_verifier: 'w'.repeat(43) })),
      400,
      'invalid_grant',
    ],
    [
      'a reused authorization code',
      async (l) => {
        const code = await codeFor(l)
        await l.app.request('/oauth/token', exchange(code, { code_verifier: verifier }))
        return l.app.request('/oauth/token', exchange(code, { code_verifier: verifier }))
      },
      400,
      'invalid_grant',
    ],
    [
      'a code never issued',
      async (l) => l.app.request('/oauth/token', exchange('x'.repeat(43), { code_verifier: verifier })),
      400,
      'invalid_grant',
    ],
    [
      'the plain PKCE method',
      async (l) => l.app.request(authorizeQuery({ code_challenge: verifier, code_challenge_method: 'plain' })),
      302,
      'redirect:invalid_request',
    ],
    [
      'no PKCE at all',
      async (l) =>
        l.app.request(authorizeQuery({ code_challenge: '', code_challenge_method: '' }).replace(/&code_challenge(_method)?=/g, '&x$1=')),
      302,
      'redirect:invalid_request',
    ],
    ['an unregistered redirect URI', async (l) => l.app.request(authorizeQuery({ redirect_uri: 'https://evil.example/cb' })), 400, 'page'],
    ['a javascript: redirect URI', async (l) => l.app.request(authorizeQuery({ redirect_uri: 'javascript:alert(1)' })), 400, 'page'],
    ['an unknown client', async (l) => l.app.request(authorizeQuery({ client_id: 'nobody' })), 400, 'page'],
    ['an oversized state', async (l) => l.app.request(authorizeQuery({ state: 's'.repeat(5_000) })), 400, 'page'],
    [
      'a repeated authorize parameter',
      async (l) => l.app.request(`${authorizeQuery()}&redirect_uri=https%3A%2F%2Fevil.example`),
      400,
      'page',
    ],
    [
      'a signed JWT with no ID token header as id_token_hint',
      async (l) => l.app.request(`/oauth/logout?id_token_hint=${await signed({ typ: undefined })}`),
      400,
      'page',
    ],
    [
      'an oversized scope',
      async (l) =>
        l.app.request(
          '/oauth/token',
          form({ grant_type: 'password', username: 'demo@example.com', password: 'password', scope: 's'.repeat(2_000) }),
        ),
      400,
      'invalid_scope',
    ],
    [
      'a nested JSON parameter',
      async (l) =>
        l.app.request('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":{"x":1}}' }),
      400,
      'invalid_request',
    ],
    ['an unknown OAuth path', async (l) => l.app.request('/oauth/nothing'), 404, 'invalid_request'],
    [
      'userinfo with a garbage token',
      async (l) => l.app.request('/oauth/userinfo', { headers: { authorization: 'Bearer a.b.c' } }),
      401,
      'invalid_token',
    ],
    [
      'an access token as id_token_hint',
      async (l) => l.app.request(`/oauth/logout?id_token_hint=${(await l.login()).access_token}`),
      400,
      'page',
    ],
  ]

  it.each(oauthRows.map(([name, request, status, answer]) => [name, status, answer, request] as const))(
    '%s → %i %s',
    async (_, status, answer, request) => {
      const l = lab({ secret: SECRET })
      const res = await request(l)
      expect(res.status).toBe(status)
      if (answer === 'page') {
        expect(res.headers.get('location')).toBeNull()
        expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      } else if (answer.startsWith('redirect:')) {
        const location = new URL(res.headers.get('location') as string)
        expect(location.origin + location.pathname).toBe(REDIRECT)
        expect(location.searchParams.get('error')).toBe(answer.slice('redirect:'.length))
        expect(location.searchParams.get('code')).toBeNull()
      } else {
        const body = (await res.json()) as { error: unknown; error_description: unknown }
        expect(body.error).toBe(answer)
        expect(typeof body.error_description).toBe('string')
      }
      expect((await l.call('GET', '/_lab/stats')).status).toBe(200)
    },
  )

  it('a reused code revokes the session the code started', async () => {
    const l = lab({ secret: SECRET })
    const code = await codeFor(l)
    const first = (await (await l.app.request('/oauth/token', exchange(code, { code_verifier: verifier }))).json()) as {
      access_token: string
    }
    await l.app.request('/oauth/token', exchange(code, { code_verifier: verifier }))
    expect((await l.call('GET', '/api/users', { token: first.access_token })).body.error.code).toBe('TOKEN_REVOKED')
  })
})
