import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Profile } from '../src/shared/profiles.js'
import { complaintAbout } from '../src/shared/checks.js'
import {
  checkSetting,
  parsedName,
  SETTING_NAMES,
  SETTINGS,
  type LiveSettings,
  type ParsedSettings,
  type SettingName,
  type SettingsInput,
  type SigningAlg,
} from '../src/shared/settings.js'
import { ConfigError } from './config-error.js'

export { ConfigError } from './config-error.js'

/**
 * Settings as the CLI and `startLab` hand them over, by setting name: text straight from flags
 * (`'30s'`, `'4000'`) or values (`4000`, `true`); `resolveServerConfig` checks both the same way.
 */
export type ServerFlags = { [K in SettingName]?: SettingsInput[K] | string }

export interface UserAccount {
  readonly id: string
  readonly email: string
  readonly password: string
  readonly name: string
  /** Extra claims from `--users`, put into the user's access tokens, ID tokens and userinfo. */
  readonly claims?: Readonly<Record<string, unknown>>
}

/** An OAuth client registered for the code flow: `--client-id` with its `--redirect-uri`s. */
export interface OAuthClient {
  readonly id: string
  /** Matched exactly (RFC 6749 §3.1.2.3); empty for the default client, which takes loopback ones. */
  readonly redirectUris: readonly string[]
}

export interface ServerConfig extends Readonly<LiveSettings> {
  readonly host: string
  readonly port: number
  readonly profile: Profile
  readonly alg: SigningAlg
  /** A private key file (PKCS#8 PEM or JWK) for the asymmetric algorithms; generated when absent. */
  readonly keyFile?: string
  readonly secret: Uint8Array
  /** Where the secret came from; `random` means tokens die with the process. */
  readonly secretSource: 'flag' | 'env' | 'random'
  readonly users: readonly UserAccount[]
  /** The `iss` of every token and the discovery issuer; the server's own URL when not set. */
  readonly issuer?: string
  readonly audience: string
  /** Clients registered with --client-id and --redirect-uri; `refresh-lab-client` is always there too. */
  readonly clients: readonly OAuthClient[]
  /** `/oauth/authorize` shows a sign-in form instead of signing in at once. */
  readonly interactiveLogin: boolean
  /** When set, `/_lab/*` needs `Authorization: Bearer <labToken>`; required off loopback. */
  readonly labToken?: string
  /** Host names besides localhost and IP addresses that `/_lab/*` answers to, in lower case. */
  readonly allowedHosts: readonly string[]
  /** Browser origins allowed to call the API (CORS); none by default. */
  readonly corsOrigins: readonly string[]
  /** `memory`, or the `redis://` URL of the store several instances share. */
  readonly store: string
  /** Where sessions, keys and users persist across restarts; memory only when absent. */
  readonly dataDir?: string
  /** Flush every change to disk, not only to the operating system (survives power loss, slower). */
  readonly fsync: boolean
  /** Connections open at once (`server.maxConnections`); one more is closed as it arrives. */
  readonly maxConnections: number
  /** A request (headers and body) that takes longer than this to arrive gets 408 and is closed. */
  readonly requestTimeoutMs: number
  /** Live event streams open at once; one more gets 503 `TOO_MANY_SUBSCRIBERS`. */
  readonly maxEventStreams: number
  /** How many events `/_lab/events` keeps before the oldest fall out. */
  readonly eventLogSize: number
}

/** The public client every lab has: any loopback redirect URI on any port (RFC 8252 §7.3). */
export const DEFAULT_CLIENT_ID = 'refresh-lab-client'

export const DEFAULT_USER = { email: 'demo@example.com', password: 'password' } as const

type Env = Readonly<Record<string, string | undefined>>

/**
 * Turns flags and environment into one frozen config, flags winning over variables. Every value
 * is checked here, once, so a bad one stops startup with a single line instead of failing later.
 */
export function resolveServerConfig(flags: ServerFlags, env: Env = process.env): ServerConfig {
  const parsed: Record<string, unknown> = {}
  const source: Partial<Record<SettingName, string>> = {}
  for (const name of SETTING_NAMES) {
    const def = SETTINGS[name]
    const fromEnv = 'env' in def ? env[def.env] : undefined
    let raw: unknown
    if (flags[name] !== undefined) [raw, source[name]] = [flags[name], `--${def.flag}`]
    else if (fromEnv !== undefined && fromEnv !== '') [raw, source[name]] = [fromEnv, (def as { env: string }).env]
    else if ('default' in def) raw = def.default
    else continue
    const checked = checkSetting(name, raw)
    if (!checked.ok) throw new ConfigError(complaintAbout(source[name] ?? `--${def.flag}`, checked.about, checked.complaint))
    parsed[parsedName(name)] = checked.value
  }
  const settings = parsed as ParsedSettings

  // What no single setting can check alone.
  const { alg, host, labToken } = settings
  if (alg !== 'HS256' && source.secret === '--secret')
    throw new ConfigError(`--secret: signs HS256 only; with --alg ${alg} give --key or let a key pair be generated`)
  if (alg === 'HS256' && settings.key !== undefined)
    throw new ConfigError('--key: is for --alg ES256, RS256 or EdDSA; HS256 signs with --secret')
  if (settings.store !== 'memory' && settings.dataDir !== undefined)
    throw new ConfigError(
      '--data-dir: not with a Redis --store, which keeps the state itself (turn on Redis appendonly to survive its restart)',
    )
  if (settings.fsync && settings.dataDir === undefined) throw new ConfigError('--fsync: only means something with --data-dir')
  if (settings.clientId !== undefined && settings.redirectUris.length === 0)
    throw new ConfigError('--client-id: give its redirect URIs with --redirect-uri (exact match; repeatable)')
  if (settings.clientId === undefined && settings.redirectUris.length > 0)
    throw new ConfigError('--redirect-uri: belongs to a client; give --client-id too')
  if (settings.clientId === DEFAULT_CLIENT_ID)
    throw new ConfigError(`--client-id: ${DEFAULT_CLIENT_ID} is built in (any loopback redirect URI); choose another id`)
  if (!isLoopback(host) && labToken === undefined) {
    throw new ConfigError(
      `--host ${host} is not a loopback address: anyone on the network could reset or steer the lab, so give --lab-token (or REFRESH_LAB_TOKEN)`,
    )
  }

  const { key, cors, secret, users, allowedHosts, usersFile, clientId, redirectUris, ...rest } = settings
  const fileUsers = usersFile === undefined ? [] : readUsersFile(usersFile)
  const flagUsers = usersFile !== undefined && source.users === undefined ? [] : users
  const allUsers = [...parseUsers(flagUsers), ...fileUsers]
  if (allUsers.length === 0) allUsers.push(...parseUsers([`${DEFAULT_USER.email}:${DEFAULT_USER.password}`]))
  return Object.freeze({
    ...rest,
    ...(key === undefined ? {} : { keyFile: key }),
    corsOrigins: Object.freeze([...cors]),
    allowedHosts: Object.freeze(allowedHosts.map((name) => name.toLowerCase())),
    secret: secret === undefined ? new Uint8Array(randomBytes(32)) : new TextEncoder().encode(secret),
    secretSource: source.secret === undefined ? 'random' : source.secret === '--secret' ? 'flag' : 'env',
    users: Object.freeze(numberUsers(allUsers)),
    clients: Object.freeze(clientId === undefined ? [] : [Object.freeze({ id: clientId, redirectUris: Object.freeze([...redirectUris]) })]),
    eventLogSize: 1_000,
  } satisfies ServerConfig)
}

/** The id every user gets by its place in the list, and one check that no email is given twice. */
function numberUsers(users: Omit<UserAccount, 'id'>[]): UserAccount[] {
  const seen = new Set<string>()
  return users.map((user, index) => {
    if (seen.has(user.email.toLowerCase())) throw new ConfigError(`--user: "${user.email}" is given twice`)
    seen.add(user.email.toLowerCase())
    return Object.freeze({ id: `usr_${index + 1}`, ...user })
  })
}

/** Claims a user file may not set: the ones refresh-lab's tokens carry and a client relies on. */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'typ',
  'client_id',
  'scope',
  'azp',
  'nonce',
  'at_hash',
  'auth_time',
])

/** `--users <file>`: a JSON list of users; anything else stops startup with one line. */
function readUsersFile(file: string): Omit<UserAccount, 'id'>[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`--users: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`)
  }
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    throw new ConfigError(`--users: ${file} is not valid JSON`)
  }
  const example = '[{"email":"ada@example.com","password":"s3cret","claims":{"role":"admin"}}]'
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`--users: ${file} must hold a non-empty list such as ${example}`)
  return list.map((entry: unknown, index) => {
    const at = `--users: ${file}, user ${index + 1}`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ConfigError(`${at} is not an object such as ${example}`)
    const { email, password, name, claims, ...other } = entry as Record<string, unknown>
    const unknownKey = Object.keys(other)[0]
    if (unknownKey !== undefined) throw new ConfigError(`${at} has "${unknownKey}"; a user has email, password, name and claims`)
    if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new ConfigError(`${at}: "email" must be an email address`)
    if (typeof password !== 'string' || password === '') throw new ConfigError(`${at}: "password" must be a non-empty string`)
    if (name !== undefined && (typeof name !== 'string' || name === '')) throw new ConfigError(`${at}: "name" must be a non-empty string`)
    if (claims !== undefined && (typeof claims !== 'object' || claims === null || Array.isArray(claims))) {
      throw new ConfigError(`${at}: "claims" must be an object such as {"role":"admin"}`)
    }
    const reserved = Object.keys(claims ?? {}).find((claim) => RESERVED_CLAIMS.has(claim))
    if (reserved !== undefined) throw new ConfigError(`${at}: the claim "${reserved}" is refresh-lab's own and cannot be set`)
    return {
      email,
      password,
      name: name ?? email.split('@')[0] ?? email,
      ...(claims === undefined ? {} : { claims: Object.freeze({ ...(claims as Record<string, unknown>) }) }),
    }
  })
}

function parseUsers(specs: readonly string[]): Omit<UserAccount, 'id'>[] {
  return specs.map((spec) => {
    const colon = spec.indexOf(':')
    const email = colon > 0 ? spec.slice(0, colon).trim() : ''
    const password = colon > 0 ? spec.slice(colon + 1) : ''
    if (email === '' || password === '') {
      throw new ConfigError(`--user: "${spec}" is not email:password (e.g. --user alice@example.com:s3cret)`)
    }
    return { email, password, name: email.split('@')[0] ?? email }
  })
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost'
}
