import * as z from 'zod'
import { duration, oneOf, switchValue, text, wholeNumber } from './checks.js'
import { PROFILES } from './profiles.js'

/**
 * Every setting of `refresh-lab serve`, once. The CLI flags and their help, the environment
 * variables, `POST /_lab/config` (the `live` ones, partially), `startLab` options, the types and the
 * settings table in docs/server.md all come from this list (docs/design.md, "Settings"). Adding a
 * setting is one entry here plus its test; a live one is read from `lab.settings` where it matters.
 */

export const SIGNING_ALGS = ['HS256', 'ES256', 'RS256', 'EdDSA'] as const
export type SigningAlg = (typeof SIGNING_ALGS)[number]

/** How a setting's text (a flag, a variable) becomes its value before the schema checks it. */
type Kind = 'text' | 'integer' | 'switch' | 'list'

export interface SettingDef<S extends z.ZodType = z.ZodType> {
  /** The value as JSON and `startLab` give it, checked and turned into what the server uses. */
  readonly schema: S
  readonly kind: Kind
  /** The CLI flag without its dashes, e.g. `access-ttl`. */
  readonly flag: string
  /** The flag's argument as `--help` shows it, e.g. `<duration>`; switches and lists say it too. */
  readonly arg?: string
  readonly env?: string
  /** The value when nothing sets it; absent means "not set" (the meaning is in `defaultText`). */
  readonly default?: z.input<S>
  /** How `--help` and the docs describe the default when it is not simply the value. */
  readonly defaultText?: string
  /** One line for `--help` and the docs table. */
  readonly help: string
  /** The docs table's longer wording, when one line of `--help` cannot say it all. */
  readonly doc?: string
  /** Changeable while the server runs (`POST /_lab/config`, scenarios); reset restores the start value. */
  readonly live?: true
  /** A duration: the parsed value is milliseconds, under the name plus `Ms` (`accessTtl` → `accessTtlMs`). */
  readonly ms?: true
}

const durationSetting = <const D extends Omit<SettingDef, 'schema' | 'kind' | 'ms'>>(min: number, def: D) => ({
  ...def,
  schema: duration(min),
  kind: 'text' as const,
  ms: true as const,
})

export const SETTINGS = {
  port: {
    schema: wholeNumber(0, 65_535, 'is not a port number (0-65535; 0 picks a free one)'),
    kind: 'integer',
    flag: 'port',
    arg: '<port>',
    env: 'PORT',
    default: 4000,
    help: 'port to listen on; 0 picks a free one',
  },
  host: {
    schema: text('is not a host name or IP address (e.g. 127.0.0.1, ::1, localhost)', (host) => /^[A-Za-z0-9.:_-]+$/.test(host)),
    kind: 'text',
    flag: 'host',
    arg: '<host>',
    env: 'HOST',
    default: '127.0.0.1',
    help: 'address to bind; anything but loopback needs --lab-token',
  },
  labToken: {
    // Sent as `Authorization: Bearer <t>`, which carries one run of visible ASCII: a token with a
    // space (or a character outside ASCII) would start a server no request could ever unlock.
    schema: text('use at least 16 characters', (token) => token.length >= 16).refine((token) => /^[\x21-\x7e]+$/.test(token), {
      error: 'a token sent in an Authorization header must be printable ASCII with no spaces',
    }),
    kind: 'text',
    flag: 'lab-token',
    arg: '<token>',
    env: 'REFRESH_LAB_TOKEN',
    defaultText: 'none',
    help: 'require this Bearer token on /_lab/*; needed when --host is not loopback',
    doc: 'require `Authorization: Bearer <t>` on `/_lab/*` (16+ printable ASCII characters, no spaces); the CLI and harness send it from `--lab-token` or the same variable',
  },
  cors: {
    schema: z.array(
      text('is not an origin such as http://localhost:8081', (origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin)),
    ),
    kind: 'list',
    flag: 'cors',
    arg: '<origin>',
    default: [],
    defaultText: 'none',
    help: 'let a browser app at this origin call the API (preflight included), never /_lab/*; repeatable, * for any',
  },
  allowedHosts: {
    schema: z.array(text('is not a host name (e.g. mybox.local; no port, no scheme)', (name) => /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name))),
    kind: 'list',
    flag: 'allowed-host',
    arg: '<name>',
    default: [],
    defaultText: 'none (localhost and IP addresses only)',
    help: 'a host name the lab API (/_lab/*) answers to besides localhost and IP addresses; repeatable',
    doc: 'a host name the lab API (`/_lab/*`) answers to besides `localhost` and IP addresses (any port); repeatable. Any other `Host` gets `403 HOST_NOT_ALLOWED`, so a web page cannot reach the lab through DNS rebinding. Give the name you open the lab page by when it is not an address, e.g. with a non-loopback `--host`',
  },
  dataDir: {
    schema: text('must name a directory', (dir) => dir !== ''),
    kind: 'text',
    flag: 'data-dir',
    arg: '<dir>',
    defaultText: 'none (memory only)',
    help: 'keep sessions, keys and users here, so a restart (or kill -9) loses nothing answered',
    doc: "keep sessions, keys, registered users and the lab clock here, so a restart or `kill -9` loses nothing answered; restart on the same port (the URL is the tokens' issuer). One server a directory: a `lock` file there holds the server's PID, a second server on it exits 2 naming that PID, and a lock left by a `kill -9` is taken over at the next start. A directory it cannot write, or files it cannot trust (garbage, values out of range, a key for another `--alg`), stop startup with one line (exit 2) and are left as they were",
  },
  store: {
    schema: text('is not "memory" or a redis:// URL (e.g. redis://127.0.0.1:6379/0)', (value) => value === 'memory' || isRedisUrl(value)),
    kind: 'text',
    flag: 'store',
    arg: '<memory|redis-url>',
    env: 'REFRESH_LAB_STORE',
    default: 'memory',
    help: 'where sessions live: this process, or a Redis several serve instances share (redis://host:port/db)',
    doc: 'where sessions live: `memory` (this process; the fastest) or `redis://host:port/db`, a Redis that several `serve` instances share, so a token rotated on one is spent on all, exactly one of any number of concurrent refreshes of a token wins whichever instance it reaches, and counters, the event log, the lab clock, live settings and registered users are the cluster\'s. Redis unreachable at start: one line, exit 2; lost while running: `503 STORE_UNAVAILABLE` until it is back. Not with `--data-dir` (Redis keeps the state; turn on its `appendonly` to survive a Redis restart). See README, "Scale"',
  },
  fsync: {
    schema: switchValue,
    kind: 'switch',
    flag: 'fsync',
    default: false,
    defaultText: 'off',
    help: 'with --data-dir, also flush each change to disk (survives power loss; slower)',
  },
  maxConnections: {
    schema: wholeNumber(1, 1_000_000),
    kind: 'integer',
    flag: 'max-connections',
    arg: '<n>',
    default: 2048,
    help: 'open connections at once; one more is closed as it arrives, so idle sockets cannot use up the open-file limit',
    doc: 'open connections at once; one more is closed as it arrives, so idle sockets cannot use up the open-file limit. The default holds a pool of 1024 clients twice over (the embedded `burst` uses at most 128)',
  },
  requestTimeout: durationSetting(100, {
    flag: 'request-timeout',
    arg: '<duration>',
    default: '30s',
    help: 'a request whose headers and body take longer to arrive gets 408 and is closed',
  }),
  accessTtl: durationSetting(1, {
    flag: 'access-ttl',
    arg: '<duration>',
    env: 'JWT_ACCESS_EXPIRY',
    default: '15m',
    help: 'access token lifetime, e.g. 30s, 15m',
    live: true,
  }),
  refreshTtl: durationSetting(1, {
    flag: 'refresh-ttl',
    arg: '<duration>',
    env: 'JWT_REFRESH_EXPIRY',
    default: '168h',
    help: "refresh token lifetime, from each token's issue (an idle timeout)",
    live: true,
  }),
  sessionTtl: durationSetting(1, {
    flag: 'session-ttl',
    arg: '<duration>',
    default: '30d',
    help: 'a session ends this long after sign-in, however often it refreshes (an absolute timeout)',
    doc: 'a session ends this long after sign-in, however often it refreshes (an absolute timeout, as Auth0 and Okta have)',
    live: true,
  }),
  reuseGrace: durationSetting(0, {
    flag: 'reuse-grace',
    arg: '<duration>',
    default: '0s',
    help: 'a rotated refresh token spent again within this time gets the grace answer instead of revoking the session',
    live: true,
  }),
  reuseGraceCount: {
    schema: wholeNumber(0, 999_999),
    kind: 'integer',
    flag: 'reuse-grace-count',
    arg: '<n>',
    default: 0,
    help: 'with a count, a rotated refresh token may be spent again this many times inside the grace (0: no count limit)',
    doc: 'with a count, a rotated token may be spent again this many times inside the grace (Keycloak, Hydra); `0` sets no count limit',
    live: true,
  },
  graceReturns: {
    schema: oneOf(['existing', 'new', 'parent']),
    kind: 'text',
    flag: 'grace-returns',
    arg: '<existing|new|parent>',
    default: 'existing',
    help: 'what a grace reuse answers: the newest token already issued, a fresh one (Auth0), or the newest only to its direct parent, an older token revoking (parent: GoTrue)',
    doc: 'what a grace reuse answers: `existing`, the newest token already issued; `new`, a fresh one (Auth0); `parent`, the newest token, but only to its direct parent: an older rotated token is a reuse even inside the grace (GoTrue, supabase/auth#466)',
    live: true,
  },
  statelessAccess: {
    schema: switchValue,
    kind: 'switch',
    flag: 'stateless-access',
    default: false,
    defaultText: 'off',
    help: 'access tokens stay valid until exp even after their session is revoked',
    live: true,
  },
  maxUsers: {
    schema: wholeNumber(1, 1_000_000),
    kind: 'integer',
    flag: 'max-users',
    arg: '<n>',
    default: 10_000,
    help: 'how many users the lab holds, configured and registered; a registration past it gets 507 USER_LIMIT_REACHED',
    live: true,
  },
  maxEventStreams: {
    schema: wholeNumber(1, 10_000),
    kind: 'integer',
    flag: 'max-event-streams',
    arg: '<n>',
    default: 64,
    help: 'live event streams (/_lab/events/stream, the lab page) open at once; one more gets 503',
    doc: 'live event streams (`/_lab/events/stream`, what the lab page reads) open at once; one more gets 503 `TOO_MANY_SUBSCRIBERS`, so open pages cannot slow the server down',
  },
  profile: {
    schema: oneOf(PROFILES),
    kind: 'text',
    flag: 'profile',
    arg: '<simple|grit|supabase>',
    env: 'REFRESH_LAB_PROFILE',
    default: 'simple',
    help: 'wire shape of /api/auth/*; supabase also serves GoTrue at /auth/v1/* for supabase-js; /oauth/* is always on',
    doc: "wire shape of `/api/auth/*`; `supabase` keeps `/api/auth/*` simple and adds GoTrue's `/auth/v1/*` for supabase-js; `/oauth/*` is always on",
  },
  alg: {
    schema: oneOf(SIGNING_ALGS),
    kind: 'text',
    flag: 'alg',
    arg: '<HS256|ES256|RS256|EdDSA>',
    default: 'HS256',
    help: 'access token signing algorithm',
  },
  key: {
    schema: text('must name a key file', (file) => file !== ''),
    kind: 'text',
    flag: 'key',
    arg: '<file>',
    defaultText: 'generated per start',
    help: 'private key for ES256/RS256/EdDSA, PKCS#8 PEM or JWK',
  },
  issuer: {
    schema: text('is not an http(s) URL', (url) => /^https?:\/\/\S+$/.test(url)).transform((url) => url.replace(/\/+$/, '')),
    kind: 'text',
    flag: 'issuer',
    arg: '<url>',
    defaultText: "the server's URL",
    help: "the tokens' iss and the discovery issuer",
  },
  audience: {
    schema: text('must not be empty', (aud) => aud.trim() !== ''),
    kind: 'text',
    flag: 'audience',
    arg: '<aud>',
    default: 'refresh-lab',
    help: "the access tokens' aud, which a backend verifying them checks",
  },
  clientId: {
    schema: text('is not a client id (printable ASCII, no spaces)', (id) => /^[\x21-\x7e]{1,200}$/.test(id)),
    kind: 'text',
    flag: 'client-id',
    arg: '<id>',
    defaultText: 'none (refresh-lab-client, for any loopback redirect URI, is always there)',
    help: 'register an OAuth client for /oauth/authorize, with its --redirect-uri',
    doc: 'register an OAuth client for `/oauth/authorize` (the code flow), with the redirect URIs given by `--redirect-uri`, matched exactly. The public client `refresh-lab-client`, which accepts any loopback redirect URI on any port (RFC 8252 §7.3), is always there',
  },
  redirectUris: {
    schema: z.array(text('is not an absolute URL without a fragment (e.g. http://localhost:3000/callback)', isRedirectUri)),
    kind: 'list',
    flag: 'redirect-uri',
    arg: '<url>',
    default: [],
    defaultText: 'none',
    help: "a redirect URI of --client-id's client; repeatable",
  },
  interactiveLogin: {
    schema: switchValue,
    kind: 'switch',
    flag: 'interactive-login',
    default: false,
    defaultText: 'off (the first user, or login_hint, signs in at once)',
    help: '/oauth/authorize shows a sign-in form rather than signing in at once',
  },
  usersFile: {
    schema: text('must name a file', (file) => file !== ''),
    kind: 'text',
    flag: 'users',
    arg: '<file>',
    defaultText: 'none',
    help: 'a JSON file of users: [{"email","password","name"?,"claims"?}]; claims go into their tokens',
    doc: 'a JSON file of users, `[{"email":"ada@example.com","password":"s3cret","name":"Ada","claims":{"role":"admin"}}]`: each can sign in, and its `claims` go into its access tokens, ID tokens and userinfo. Given with `--user`, both lists count. A file that cannot be read or is not such a list stops startup with one line (exit 2)',
  },
  secret: {
    schema: text('the secret must not be empty', (secret) => secret !== ''),
    kind: 'text',
    flag: 'secret',
    arg: '<secret>',
    env: 'JWT_SECRET',
    defaultText: 'random per start',
    help: 'HS256 signing secret; a random one is announced with a warning',
  },
  users: {
    schema: z.array(z.string()),
    kind: 'list',
    flag: 'user',
    arg: '<email:password>',
    default: ['demo@example.com:password'],
    help: 'a user who can sign in; repeat for several',
  },
} as const satisfies Record<string, SettingDef>

/** An absolute http(s) or private-scheme URL without a fragment (RFC 6749 §3.1.2). */
function isRedirectUri(value: string): boolean {
  if (value.length > 2_000 || value.includes('#')) return false
  try {
    return /^[a-z][a-z0-9+.-]*:/i.test(value) && new URL(value).protocol !== 'javascript:'
  } catch {
    return false
  }
}

type Settings = typeof SETTINGS
export type SettingName = keyof Settings

/** The names of the settings that may change while the server runs. */
export type LiveSettingName = { [K in SettingName]: Settings[K] extends { live: true } ? K : never }[SettingName]

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[]

export const LIVE_SETTING_NAMES = SETTING_NAMES.filter((name): name is LiveSettingName => 'live' in SETTINGS[name])

/** A setting's parsed name: durations carry `Ms` (`accessTtl` → `accessTtlMs`). */
type ParsedName<K extends SettingName> = Settings[K] extends { ms: true } ? `${K}Ms` : K

/** Settings as `startLab` and JSON give them: durations as strings such as `'30s'`. */
export type SettingsInput = { -readonly [K in SettingName]?: z.input<Settings[K]['schema']> | undefined }
export type LiveSettingsInput = Pick<SettingsInput, LiveSettingName>

/** The live settings in force, as the server uses them (durations in milliseconds). */
export type LiveSettings = { -readonly [K in LiveSettingName as ParsedName<K>]: Parsed<K> }

type DefaultedName = { [K in SettingName]: Settings[K] extends { default: unknown } ? K : never }[SettingName]
type Parsed<K extends SettingName> = z.output<Settings[K]['schema']>

/** Every setting that has a value, parsed; those without a default are absent until set. */
export type ParsedSettings = { -readonly [K in DefaultedName as ParsedName<K>]: Parsed<K> } & {
  -readonly [K in Exclude<SettingName, DefaultedName> as ParsedName<K>]?: Parsed<K>
}

/** Live settings patch for `POST /_lab/config`: strict (a typo fails loudly), every field optional. */
export const liveSettingsSchema = z
  .strictObject(
    Object.fromEntries(LIVE_SETTING_NAMES.map((name) => [name, SETTINGS[name].schema])) as {
      [K in LiveSettingName]: Settings[K]['schema']
    },
  )
  .partial()

export function parsedName(name: SettingName): string {
  return 'ms' in SETTINGS[name] ? `${name}Ms` : name
}

/** The live settings out of a whole config: what a lab starts with and a reset restores. */
export function pickLiveSettings(config: LiveSettings): LiveSettings {
  return Object.fromEntries(
    LIVE_SETTING_NAMES.map((name) => [parsedName(name), config[parsedName(name) as keyof LiveSettings]]),
  ) as LiveSettings
}

/** A checked `POST /_lab/config` body by the names the server uses (`accessTtl` → `accessTtlMs`). */
export function livePatch(body: z.output<typeof liveSettingsSchema>): Partial<LiveSettings> {
  const changed = Object.entries(body).filter(([, value]) => value !== undefined)
  return Object.fromEntries(changed.map(([name, value]) => [parsedName(name as SettingName), value])) as Partial<LiveSettings>
}

/** The live settings at their defaults, as input: what a scenario starts from on any server. */
export function liveDefaults(): Required<LiveSettingsInput> {
  return Object.fromEntries(LIVE_SETTING_NAMES.map((name) => [name, (SETTINGS[name] as SettingDef).default])) as Required<LiveSettingsInput>
}

/** A setting's value checked, or its one complaint worded for `where` (`--access-ttl`, `"accessTtl"`). */
export type SettingCheck = { ok: true; value: unknown } | { ok: false; complaint: string; about: unknown }

/**
 * Checks one value. A string for a whole-number setting is read as one when it is digits (flags and
 * variables are text); everything else must already have its type.
 */
export function checkSetting(name: SettingName, value: unknown): SettingCheck {
  const def: SettingDef = SETTINGS[name]
  const input = def.kind === 'integer' && typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value
  const result = def.schema.safeParse(input)
  if (result.success) return { ok: true, value: result.data }
  const issue = result.error.issues[0]
  // A list's complaint is about one item: `--cors: "localhost:8081" is not an origin`.
  const item = def.kind === 'list' && Array.isArray(value) && typeof issue?.path[0] === 'number' ? value[issue.path[0]] : value
  return { ok: false, complaint: issue?.message ?? 'is not valid', about: item }
}

/** What `--help` says of a setting: its help, then where else it comes from and its default. */
export function flagHelp(name: SettingName): string {
  const def: SettingDef = SETTINGS[name]
  const notes = [def.env && `env ${def.env}`, defaultText(def) && `default ${defaultText(def)}`].filter(Boolean)
  return notes.length > 0 ? `${def.help} (${notes.join('; ')})` : def.help
}

export function defaultText(def: SettingDef): string | undefined {
  if (def.defaultText !== undefined) return def.defaultText
  if (def.default === undefined) return undefined
  return Array.isArray(def.default) ? def.default.join(', ') : String(def.default)
}

/** `redis://host:port/db` (port and db optional), the form `--store` takes for a shared Redis. */
export function isRedisUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return url.protocol === 'redis:' && url.hostname !== '' && /^(\/\d{0,2})?$/.test(url.pathname)
}
