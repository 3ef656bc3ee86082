import { randomBytes } from 'node:crypto'
import { DurationError, formatDuration, parseDuration } from '../src/shared/duration.js'
import { PROFILES, type Profile } from '../src/shared/profiles.js'
import { ConfigError } from './config-error.js'
import { SIGNING_ALGS, type SigningAlg } from './keys.js'

export { ConfigError } from './config-error.js'

/** Settings as the CLI hands them over: strings straight from flags, nothing parsed yet. */
export interface ServerFlags {
  port?: string
  host?: string
  accessTtl?: string
  refreshTtl?: string
  sessionTtl?: string
  reuseGrace?: string
  reuseGraceCount?: string
  graceReturns?: string
  secret?: string
  user?: string[]
  statelessAccess?: boolean
  profile?: string
  alg?: string
  key?: string
  issuer?: string
  requestTimeout?: string
  labToken?: string
  cors?: string[]
  dataDir?: string
  fsync?: boolean
}

export interface UserAccount {
  readonly id: string
  readonly email: string
  readonly password: string
  readonly name: string
}

export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly accessTtlMs: number
  readonly refreshTtlMs: number
  readonly sessionTtlMs: number
  readonly reuseGraceMs: number
  /** How many times a rotated token may be spent again inside the grace; 0 means no count limit. */
  readonly reuseGraceCount: number
  /** What a grace reuse answers: the child already issued (GoTrue) or a fresh child (Auth0). */
  readonly graceReturns: 'existing' | 'new'
  readonly profile: Profile
  readonly alg: SigningAlg
  /** A private key file (PKCS#8 PEM or JWK) for the asymmetric algorithms; generated when absent. */
  readonly keyFile?: string
  readonly secret: Uint8Array
  /** Where the secret came from; `random` means tokens die with the process. */
  readonly secretSource: 'flag' | 'env' | 'random'
  readonly users: readonly UserAccount[]
  readonly statelessAccess: boolean
  /** The `iss` of every token and the discovery issuer; the server's own URL when not set. */
  readonly issuer?: string
  readonly audience: string
  /** When set, `/_lab/*` needs `Authorization: Bearer <labToken>`; required off loopback. */
  readonly labToken?: string
  /** Browser origins allowed to call the API (CORS); none by default. */
  readonly corsOrigins: readonly string[]
  /** Where sessions, keys and users persist across restarts; memory only when absent. */
  readonly dataDir?: string
  /** Flush every change to disk, not only to the operating system (survives power loss, slower). */
  readonly fsync: boolean
  /** A request (headers and body) that takes longer than this to arrive gets 408 and is closed. */
  readonly requestTimeoutMs: number
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
  const setting = (flag: string, flagValue: string | undefined, variable?: string) => {
    if (flagValue !== undefined) return { value: flagValue, source: `--${flag}` }
    const fromEnv = variable === undefined ? undefined : env[variable]
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: variable as string }
    return undefined
  }

  const duration = (flag: string, flagValue: string | undefined, variable: string | undefined, fallback: string, min: number) => {
    const chosen = setting(flag, flagValue, variable) ?? { value: fallback, source: `--${flag}` }
    let ms: number
    try {
      ms = parseDuration(chosen.value)
    } catch (error) {
      if (error instanceof DurationError) throw new ConfigError(`${chosen.source}: ${error.message}`)
      throw error
    }
    if (ms < min) throw new ConfigError(`${chosen.source}: "${chosen.value}" must be at least ${formatDuration(min)}`)
    return ms
  }

  const port = setting('port', flags.port, 'PORT') ?? { value: '4000', source: '--port' }
  if (!/^\d{1,5}$/.test(port.value) || Number(port.value) > 65_535) {
    throw new ConfigError(`${port.source}: "${port.value}" is not a port number (0-65535; 0 picks a free one)`)
  }
  const hostSetting = setting('host', flags.host, 'HOST') ?? { value: '127.0.0.1', source: '--host' }
  const host = hostSetting.value
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new ConfigError(`${hostSetting.source}: "${host}" is not a host name or IP address (e.g. 127.0.0.1, ::1, localhost)`)
  }

  const secretSetting = setting('secret', flags.secret, 'JWT_SECRET')
  if (flags.secret === '') throw new ConfigError('--secret: the secret must not be empty')
  const choice = <T extends string>(flag: string, value: string | undefined, variable: string | undefined, choices: readonly T[], fallback: T): T => {
    const chosen = setting(flag, value, variable)
    if (chosen === undefined) return fallback
    if (!choices.includes(chosen.value as T)) throw new ConfigError(`${chosen.source}: "${chosen.value}" is not one of ${choices.join(', ')}`)
    return chosen.value as T
  }
  const alg = choice('alg', flags.alg, undefined, SIGNING_ALGS, 'HS256')
  if (alg !== 'HS256' && flags.secret !== undefined) throw new ConfigError(`--secret: signs HS256 only; with --alg ${alg} give --key or let a key pair be generated`)
  if (alg === 'HS256' && flags.key !== undefined) throw new ConfigError('--key: is for --alg ES256, RS256 or EdDSA; HS256 signs with --secret')
  const labToken = setting('lab-token', flags.labToken, 'REFRESH_LAB_TOKEN')?.value
  if (flags.dataDir === '') throw new ConfigError('--data-dir: give a directory')
  if (flags.fsync === true && flags.dataDir === undefined) throw new ConfigError('--fsync: only means something with --data-dir')
  if (labToken !== undefined && labToken.length < 16) throw new ConfigError('--lab-token: use at least 16 characters')
  if (!isLoopback(host) && labToken === undefined) {
    throw new ConfigError(`--host ${host} is not a loopback address: anyone on the network could reset or steer the lab, so give --lab-token (or REFRESH_LAB_TOKEN)`)
  }
  const corsOrigins = (flags.cors ?? []).map((origin) => {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError(`--cors: "${origin}" is not an origin such as http://localhost:8081`)
    return origin
  })
  const graceCount = flags.reuseGraceCount ?? '0'
  if (!/^\d{1,6}$/.test(graceCount)) throw new ConfigError(`--reuse-grace-count: "${graceCount}" is not a whole number from 0 to 999999`)
  if (flags.issuer !== undefined && !/^https?:\/\/\S+$/.test(flags.issuer)) throw new ConfigError(`--issuer: "${flags.issuer}" is not an http(s) URL`)

  return Object.freeze({
    host,
    port: Number(port.value),
    accessTtlMs: duration('access-ttl', flags.accessTtl, 'JWT_ACCESS_EXPIRY', '15m', 1),
    refreshTtlMs: duration('refresh-ttl', flags.refreshTtl, 'JWT_REFRESH_EXPIRY', '168h', 1),
    sessionTtlMs: duration('session-ttl', flags.sessionTtl, undefined, '30d', 1),
    reuseGraceMs: duration('reuse-grace', flags.reuseGrace, undefined, '0s', 0),
    reuseGraceCount: Number(graceCount),
    graceReturns: choice('grace-returns', flags.graceReturns, undefined, ['existing', 'new'] as const, 'existing'),
    profile: choice('profile', flags.profile, 'REFRESH_LAB_PROFILE', PROFILES, 'simple'),
    alg,
    ...(flags.key === undefined ? {} : { keyFile: flags.key }),
    ...(flags.issuer === undefined ? {} : { issuer: flags.issuer.replace(/\/+$/, '') }),
    secret: secretSetting ? new TextEncoder().encode(secretSetting.value) : new Uint8Array(randomBytes(32)),
    secretSource: secretSetting === undefined ? 'random' : secretSetting.source === 'JWT_SECRET' ? 'env' : 'flag',
    users: Object.freeze(parseUsers(flags.user)),
    statelessAccess: flags.statelessAccess === true,
    audience: 'refresh-lab',
    ...(labToken === undefined ? {} : { labToken }),
    corsOrigins: Object.freeze(corsOrigins),
    ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
    fsync: flags.fsync === true,
    requestTimeoutMs: duration('request-timeout', flags.requestTimeout, undefined, '30s', 100),
    eventLogSize: 1_000,
  })
}

function parseUsers(specs: readonly string[] | undefined): UserAccount[] {
  const list = specs && specs.length > 0 ? specs : [`${DEFAULT_USER.email}:${DEFAULT_USER.password}`]
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
