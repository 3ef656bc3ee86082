import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigError } from './config-error.js'
import { loadSigningKeys } from './keys.js'

const secret = new Uint8Array(32)
const dir = mkdtempSync(join(tmpdir(), 'refresh-lab-keys-'))

describe('loadSigningKeys', () => {
  it('keeps HS256 unpublished', async () => {
    const keys = await loadSigningKeys({ alg: 'HS256', secret })
    expect(keys.publicJwk).toBeUndefined()
  })

  it('loads a PKCS#8 PEM and a private JWK, and publishes the same kid for the same key', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    writeFileSync(join(dir, 'key.pem'), await exportPKCS8(privateKey))
    writeFileSync(join(dir, 'key.json'), JSON.stringify(await exportJWK(privateKey)))
    const fromPem = await loadSigningKeys({ alg: 'ES256', secret, keyFile: join(dir, 'key.pem') })
    const fromJwk = await loadSigningKeys({ alg: 'ES256', secret, keyFile: join(dir, 'key.json') })
    expect(fromPem.publicJwk?.kid).toBe(fromJwk.publicJwk?.kid)
    expect(fromPem.publicJwk).not.toHaveProperty('d')
  })

  it.each([
    ['missing.pem', undefined, /--key: cannot read .*missing\.pem \(ENOENT\)/],
    ['garbage.pem', 'not a key', /--key: .*garbage\.pem is not a ES256 private key/],
    ['public.json', JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }), /has no private part/],
  ])('refuses %s with one ConfigError naming --key', async (file, content, message) => {
    if (content !== undefined) writeFileSync(join(dir, file), content)
    const error = await loadSigningKeys({ alg: 'ES256', secret, keyFile: join(dir, file) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(message)
  })
})
