import { readFile } from 'node:fs/promises'
import { webcrypto } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose'
import type { SigningAlg } from '../src/shared/settings.js'
import { ConfigError } from './config-error.js'

export { SIGNING_ALGS, type SigningAlg } from '../src/shared/settings.js'

/** The keys tokens are signed and verified with, and what `/.well-known/jwks.json` publishes. */
export interface SigningKeys {
  alg: SigningAlg
  signKey: webcrypto.CryptoKey
  verifyKey: webcrypto.CryptoKey
  /** The public key with its `kid`; none for HS256, whose secret is never published. */
  publicJwk?: JWK & { kid: string }
  /** HS256 only: the raw secret, for signing with node:crypto's HMAC on the hot path. */
  hmacSecret?: Uint8Array
  /** The private key, as a JWK, when it was generated here (so --data-dir can keep it). */
  generatedPrivateJwk?: JWK
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const

/**
 * HS256 imports the secret once as a CryptoKey. The asymmetric algorithms load a private key from
 * `--key` (PKCS#8 PEM or a private JWK) or generate a fresh pair, and publish the public half with
 * its RFC 7638 thumbprint as `kid`, so a backend can verify tokens with `createRemoteJWKSet`.
 */
export async function loadSigningKeys(options: {
  alg: SigningAlg
  secret: Uint8Array
  keyFile?: string
  privateJwk?: JWK
}): Promise<SigningKeys> {
  const { alg } = options
  if (alg === 'HS256') {
    const key = await webcrypto.subtle.importKey('raw', options.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    return { alg, signKey: key, verifyKey: key, hmacSecret: options.secret }
  }
  const generated = options.keyFile === undefined && options.privateJwk === undefined
  const privateKey =
    options.keyFile !== undefined
      ? await readPrivateKey(options.keyFile, alg)
      : options.privateJwk !== undefined
        ? await importSavedKey(options.privateJwk, alg)
        : (await generateKeyPair(alg, { extractable: true })).privateKey
  const privateJwk = await exportJWK(privateKey)
  const jwk = { ...privateJwk }
  for (const member of PRIVATE_MEMBERS) delete jwk[member]
  const kid = await calculateJwkThumbprint(jwk)
  const publicJwk = { ...jwk, kid, alg, use: 'sig' }
  const verifyKey = (await importJWK(publicJwk, alg)) as webcrypto.CryptoKey
  return {
    alg,
    signKey: privateKey as webcrypto.CryptoKey,
    verifyKey,
    publicJwk,
    ...(generated ? { generatedPrivateJwk: privateJwk } : {}),
  }
}

const ALG_OF_KTY: Record<string, SigningAlg> = { EC: 'ES256', RSA: 'RS256', OKP: 'EdDSA' }

/** The key a previous run generated and `--data-dir` kept; another `--alg` on the same directory cannot use it. */
async function importSavedKey(jwk: JWK, alg: SigningAlg): Promise<webcrypto.CryptoKey> {
  try {
    return (await importJWK(jwk, alg, { extractable: true })) as webcrypto.CryptoKey
  } catch (error) {
    const madeFor = ALG_OF_KTY[String(jwk.kty)]
    throw new ConfigError(
      madeFor !== undefined && madeFor !== alg
        ? `--alg ${alg}: the --data-dir's keys.json holds a key for --alg ${madeFor}; start with --alg ${madeFor}, or move keys.json away for a new key (tokens signed with the old one stop verifying)`
        : `--alg ${alg}: the key the --data-dir keeps in keys.json cannot be used (${(error as Error).message}); move keys.json away for a new key`,
    )
  }
}

async function readPrivateKey(file: string, alg: SigningAlg): Promise<webcrypto.CryptoKey> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`--key: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as JWK
      if (jwk.d === undefined) throw new Error('the JWK has no private part ("d")')
      return (await importJWK(jwk, alg, { extractable: true })) as webcrypto.CryptoKey
    }
    return (await importPKCS8(text, alg, { extractable: true })) as webcrypto.CryptoKey
  } catch (error) {
    throw new ConfigError(`--key: ${file} is not a ${alg} private key as PKCS#8 PEM or JWK (${(error as Error).message})`)
  }
}
