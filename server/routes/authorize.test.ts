import { createHash, randomBytes } from 'node:crypto'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { decode, lab } from '../../test/support/app.js'

const REDIRECT = 'http://127.0.0.1:53682/callback'

function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Runs /oauth/authorize and answers the redirect's query, or the page when there is no redirect. */
function flow(flags: Parameters<typeof lab>[0] = {}) {
  const l = lab(flags)
  const authorize = async (params: Record<string, string>) => {
    const res = await l.app.request(`/oauth/authorize?${new URLSearchParams(params)}`)
    const location = res.headers.get('location')
    return { status: res.status, location, query: location ? new URL(location).searchParams : undefined, text: await res.text() }
  }
  const start = async (extra: Record<string, string> = {}) => {
    const { verifier, challenge } = pkce()
    const answer = await authorize({
      response_type: 'code',
      client_id: 'refresh-lab-client',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st4te',
      nonce: 'n0nce',
      scope: 'openid email offline_access',
      ...extra,
    })
    return { ...answer, verifier, code: answer.query?.get('code') ?? '' }
  }
  const exchange = (code: string, verifier: string | undefined, extra: Record<string, string> = {}) =>
    l.call('POST', '/oauth/token', {
      form: {
        grant_type: 'authorization_code',
        code,
        client_id: 'refresh-lab-client',
        redirect_uri: REDIRECT,
        ...(verifier === undefined ? {} : { code_verifier: verifier }),
        ...extra,
      },
    })
  return { ...l, authorize, start, exchange }
}

describe('GET /oauth/authorize and the authorization_code grant', () => {
  it('signs the first user in without a form, and the code with its verifier gets tokens and an ID token', async () => {
    const { start, exchange, call } = flow({ alg: 'ES256' })
    const { status, query, code, verifier } = await start()
    expect(status).toBe(302)
    expect(query?.get('state')).toBe('st4te')
    expect(query?.get('iss')).toBe('http://localhost')
    const tokens = await exchange(code, verifier)
    expect(tokens.status).toBe(200)
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'openid email offline_access' })
    const jwks = createLocalJWKSet((await call('GET', '/.well-known/jwks.json')).body)
    const { payload, protectedHeader } = await jwtVerify(tokens.body.id_token, jwks, {
      issuer: 'http://localhost',
      audience: 'refresh-lab-client',
    })
    expect(protectedHeader.typ).toBe('JWT')
    expect(payload).toMatchObject({ sub: 'usr_1', nonce: 'n0nce', email: 'demo@example.com', azp: 'refresh-lab-client' })
    const digest = createHash('sha256').update(tokens.body.access_token).digest()
    expect(payload['at_hash']).toBe(digest.subarray(0, 16).toString('base64url'))
    expect(decode(tokens.body.access_token)).toMatchObject({ client_id: 'refresh-lab-client', scope: 'openid email offline_access' })
    // A refresh keeps the scope and brings a fresh ID token without a nonce.
    const refreshed = await call('POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token },
    })
    expect(refreshed.body.scope).toBe('openid email offline_access')
    expect(decode(refreshed.body.id_token)).toMatchObject({ sub: 'usr_1', sid: decode(tokens.body.access_token)['sid'] })
    expect(decode(refreshed.body.id_token)).not.toHaveProperty('nonce')
    // userinfo, with the access token.
    const info = await call('GET', '/oauth/userinfo', { token: refreshed.body.access_token })
    expect(info.body).toMatchObject({ sub: 'usr_1', email: 'demo@example.com' })
  })

  it("carries auth_time, the sign-in's real time, in every ID token of the session, whatever the lab clock does", async () => {
    const { start, exchange, call, advance } = flow()
    const before = Math.floor(Date.now() / 1000)
    const { code, verifier } = await start()
    // The code is redeemed 5 lab minutes after the sign-in, and refreshed 20 more later.
    await advance('5m')
    const tokens = (await exchange(code, verifier)).body
    const first = decode(tokens.id_token)
    expect(first['auth_time']).toBeTypeOf('number')
    expect(first['auth_time']).toBeGreaterThanOrEqual(before)
    expect(first['auth_time']).toBeLessThanOrEqual(first['iat'] as number)
    await advance('20m')
    const refreshed = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } })
    // OIDC Core §12.2: the original authentication's time; oidc-client-ts refuses a refresh whose auth_time differs.
    expect(decode(refreshed.body.id_token)['auth_time']).toBe(first['auth_time'])
    expect((await call('GET', '/.well-known/openid-configuration')).body.claims_supported).toContain('auth_time')
  })

  it('signs in the login_hint user, and sends login_required back for an unknown one', async () => {
    const { start, exchange } = flow({ users: ['a@example.com:pw', 'b@example.com:pw'] })
    const { code, verifier } = await start({ login_hint: 'b@example.com' })
    expect(decode((await exchange(code, verifier)).body.access_token)['sub']).toBe('usr_2')
    const unknown = await start({ login_hint: 'ghost@example.com' })
    expect(unknown.query?.get('error')).toBe('login_required')
    expect(unknown.query?.get('state')).toBe('st4te')
  })

  it.each([
    ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['no PKCE method', { code_challenge_method: '' }, 'invalid_request'],
    ['another response_type', { response_type: 'token' }, 'unsupported_response_type'],
    ['a fragment response_mode', { response_mode: 'fragment' }, 'invalid_request'],
    ['a challenge that is no digest', { code_challenge: 'short' }, 'invalid_request'],
  ])('%s: the error goes back to the redirect URI with the state', async (_, extra, error) => {
    const params = Object.fromEntries(Object.entries(extra).filter(([, value]) => value !== ''))
    const removed = Object.keys(extra).filter((key) => (extra as Record<string, string>)[key] === '')
    const { authorize } = flow()
    const { challenge } = pkce()
    const base: Record<string, string> = {
      response_type: 'code',
      client_id: 'refresh-lab-client',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'xyz',
    }
    for (const key of removed) delete base[key]
    const { status, query } = await authorize({ ...base, ...params })
    expect(status).toBe(302)
    expect(query?.get('error')).toBe(error)
    expect(query?.get('state')).toBe('xyz')
    expect(query?.get('code')).toBeNull()
  })

  it.each([
    ['an unregistered redirect URI', { redirect_uri: 'https://evil.example/cb' }],
    ['a loopback redirect over https', { redirect_uri: 'https://127.0.0.1:8080/cb' }],
    ['an unknown client', { client_id: 'nobody' }],
    ['no client_id', { client_id: '' }],
    ['an oversized state', { state: 's'.repeat(1_025) }],
  ])('%s: an error page, never a redirect', async (_, extra) => {
    const { start } = flow()
    const { status, location, text } = await start(extra)
    expect(status).toBe(400)
    expect(location).toBeNull()
    expect(text).toContain('Sign-in refused')
    expect(text).not.toContain('evil.example')
  })

  it('accepts a loopback redirect on any port and path for the built-in client, and only the exact URI for a registered one', async () => {
    const open = flow()
    for (const uri of ['http://127.0.0.1:1/x', 'http://[::1]:65535/cb?a=1', 'http://localhost:3000/']) {
      expect((await open.start({ redirect_uri: uri })).status, uri).toBe(302)
    }
    const registered = flow({ clientId: 'web', redirectUris: ['https://app.example/cb'] })
    expect((await registered.start({ client_id: 'web', redirect_uri: 'https://app.example/cb' })).status).toBe(302)
    expect((await registered.start({ client_id: 'web', redirect_uri: 'https://app.example/cb/' })).status).toBe(400)
    expect((await registered.start({ client_id: 'web', redirect_uri: 'https://app.example/cb?x=1' })).status).toBe(400)
  })

  it.each([
    ['no verifier', undefined, {}],
    ['a wrong verifier', 'w'.repeat(43), {}],
    ['a verifier too short', 'short', {}],
    ['another client', 'RIGHT', { client_id: 'someone-else' }],
    ['another redirect_uri', 'RIGHT', { redirect_uri: 'http://127.0.0.1:1/other' }],
  ])('%s: invalid_grant, and the code is spent', async (_, verifier, extra) => {
    const { start, exchange } = flow()
    const attempt = await start()
    const res = await exchange(attempt.code, verifier === 'RIGHT' ? attempt.verifier : verifier, extra)
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect((await exchange(attempt.code, attempt.verifier)).body.error).toBe('invalid_grant')
  })

  it('revokes what a code issued when the code is used again (RFC 6749 §4.1.2)', async () => {
    const { start, exchange, call } = flow()
    const { code, verifier } = await start()
    const first = await exchange(code, verifier)
    expect((await call('GET', '/api/users', { token: first.body.access_token })).status).toBe(200)
    const again = await exchange(code, verifier)
    expect(again.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('already used') })
    expect((await call('GET', '/api/users', { token: first.body.access_token })).body.error.code).toBe('TOKEN_REVOKED')
    const refresh = await call('POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token } })
    expect(refresh.body.error_description).toContain('REFRESH_TOKEN_REVOKED')
  })

  it('lets a code expire after 10 minutes of lab time', async () => {
    const { start, exchange, advance } = flow()
    const { code, verifier } = await start()
    await advance('11m')
    expect((await exchange(code, verifier)).body).toMatchObject({
      error: 'invalid_grant',
      error_description: expect.stringContaining('expired'),
    })
  })
})

describe('--interactive-login', () => {
  it('shows a form, signs in with the right password, and shows the form again for a wrong one', async () => {
    const { start, app } = flow({ interactiveLogin: true, users: ['ada@example.com:s3cret'] })
    const page = await start({ state: '"><script>x</script>' })
    expect(page.status).toBe(200)
    expect(page.text).toContain('<form method="post" action="/oauth/authorize">')
    expect(page.text).not.toContain('<script>x')
    const fields = new URLSearchParams(
      [...page.text.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map(
        (m) => [m[1] as string, unescapeHtml(m[2] as string)] as [string, string],
      ),
    )
    const post = (password: string) =>
      app.request('/oauth/authorize', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `${fields}&email=ada%40example.com&password=${password}`,
      })
    const wrong = await post('nope')
    expect(wrong.status).toBe(401)
    expect(await wrong.text()).toContain('The email or password is wrong.')
    const right = await post('s3cret')
    expect(right.status).toBe(302)
    const query = new URL(right.headers.get('location') as string).searchParams
    expect(query.get('code')).toMatch(/^[\w-]{43}$/)
    expect(query.get('state')).toBe('"><script>x</script>')
  })
})

function unescapeHtml(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
}

describe('RP-initiated logout', () => {
  it('ends the session of the id_token_hint and redirects to a loopback post_logout_redirect_uri with the state', async () => {
    const { start, exchange, app, call } = flow()
    const { code, verifier } = await start()
    const tokens = (await exchange(code, verifier)).body
    const res = await app.request(
      `/oauth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 's1' })}`,
    )
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('http://127.0.0.1:9/bye?state=s1')
    expect((await call('GET', '/api/users', { token: tokens.access_token })).body.error.code).toBe('TOKEN_REVOKED')
    const evil = await app.request(
      `/oauth/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/' })}`,
    )
    expect(evil.status).toBe(400)
    expect(evil.headers.get('location')).toBeNull()
  })
})

describe('discovery', () => {
  it('lists the code flow endpoints under both OpenID and RFC 8414 names', async () => {
    const { call } = lab()
    const openid = (await call('GET', '/.well-known/openid-configuration')).body
    expect(openid).toMatchObject({
      authorization_endpoint: 'http://localhost/oauth/authorize',
      userinfo_endpoint: 'http://localhost/oauth/userinfo',
      end_session_endpoint: 'http://localhost/oauth/logout',
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    })
    expect((await call('GET', '/.well-known/oauth-authorization-server')).body).toEqual(openid)
  })

  it('answers userinfo without a token with 401, a WWW-Authenticate challenge and an OAuth error body', async () => {
    const res = await lab().call('GET', '/oauth/userinfo')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="refresh-lab"')
    expect(res.body).toMatchObject({ error: 'invalid_token' })
  })
})
