import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as oidc from 'openid-client'
import { startLab, type RunningLab } from 'refresh-lab'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * panva's openid-client, a client nobody here wrote, against the oauth2 profile: discovery, the
 * refresh_token grant with rotation, reuse refused as invalid_grant, revocation, introspection, and
 * the access token verified through the published JWKS.
 */
describe('openid-client against the oauth2 endpoints', () => {
  let lab: RunningLab
  let config: oidc.Configuration

  beforeAll(async () => {
    lab = await startLab({ alg: 'ES256', accessTtl: '30s' })
    config = await oidc.discovery(new URL(lab.url), 'my-app', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] })
  })
  afterAll(async () => {
    await lab.stop()
  })

  const signIn = () => oidc.genericGrantRequest(config, 'password', { username: 'demo@example.com', password: 'password' })

  it('discovers the token, revocation and introspection endpoints', () => {
    const metadata = config.serverMetadata()
    expect(metadata.issuer).toBe(lab.url)
    expect(metadata.token_endpoint).toBe(`${lab.url}/oauth/token`)
    expect(metadata.jwks_uri).toBe(`${lab.url}/.well-known/jwks.json`)
  })

  it('refreshes with a rotated refresh token that is then accepted', async () => {
    const first = await signIn()
    const second = await oidc.refreshTokenGrant(config, first.refresh_token as string)
    expect(second.refresh_token).toBeDefined()
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.token_type).toBe('bearer')
    const third = await oidc.refreshTokenGrant(config, second.refresh_token as string)
    expect(third.access_token).toBeDefined()
  })

  it('gets invalid_grant for a reused refresh token, and the session is revoked', async () => {
    const first = await signIn()
    const second = await oidc.refreshTokenGrant(config, first.refresh_token as string)
    const reuse = await oidc.refreshTokenGrant(config, first.refresh_token as string).catch((e: unknown) => e)
    expect(reuse).toBeInstanceOf(oidc.ResponseBodyError)
    expect(reuse).toMatchObject({ error: 'invalid_grant', status: 400 })
    const afterReuse = await oidc.refreshTokenGrant(config, second.refresh_token as string).catch((e: unknown) => e)
    expect(afterReuse).toMatchObject({ error: 'invalid_grant' })
  })

  it('verifies the access token through the JWKS, as a backend would', async () => {
    const { access_token } = await signIn()
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri as string))
    const { payload, protectedHeader } = await jwtVerify(access_token, jwks, { issuer: lab.url, audience: 'refresh-lab' })
    expect(protectedHeader.alg).toBe('ES256')
    expect(payload).toMatchObject({ sub: 'usr_1', typ: 'access' })
  })

  it('revokes and introspects through the RFC 7009 and 7662 endpoints', async () => {
    const tokens = await signIn()
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token as string)).toMatchObject({
      active: true,
      token_use: 'refresh_token',
    })
    await oidc.tokenRevocation(config, tokens.refresh_token as string)
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token as string)).toEqual({ active: false })
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false })
  })
})
