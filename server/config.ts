import { randomBytes } from 'node:crypto'
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
  if (!isLoopback(host) && labToken === undefined) {
    throw new ConfigError(
      `--host ${host} is not a loopback address: anyone on the network could reset or steer the lab, so give --lab-token (or REFRESH_LAB_TOKEN)`,
    )
  }

  const { key, cors, secret, users, allowedHosts, ...rest } = settings
  return Object.freeze({
    ...rest,
    ...(key === undefined ? {} : { keyFile: key }),
    corsOrigins: Object.freeze([...cors]),
    allowedHosts: Object.freeze(allowedHosts.map((name) => name.toLowerCase())),
    secret: secret === undefined ? new Uint8Array(randomBytes(32)) : new TextEncoder().encode(secret),
    secretSource: source.secret === undefined ? 'random' : source.secret === '--secret' ? 'flag' : 'env',
    users: Object.freeze(parseUsers(users)),
    audience: 'refresh-lab',
    eventLogSize: 1_000,
  } satisfies ServerConfig)
}

function parseUsers(specs: readonly string[]): UserAccount[] {
  const list = specs.length > 0 ? specs : [`${DEFAULT_USER.email}:${DEFAULT_USER.password}`]
  const seen = new Set<string>()
  return list.map((spec, index) => {
    const colon = spec.indexOf(':')
    const email = colon > 0 ? spec.slice(0, colon).trim() : ''
    const password = colon > 0 ? spec.slice(colon + 1) : ''
    if (email === '' || password === '') {
      throw new ConfigError(`--user: "${spec}" is not email:password (e.g. --user alice@example.com:s3cret)`)
    }
    if (seen.has(email.toLowerCase())) throw new ConfigError(`--user: "${email}" is given twice`)
    seen.add(email.toLowerCase())
    return Object.freeze({ id: `usr_${index + 1}`, email, password, name: email.split('@')[0] ?? email })
  })
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost'
}
