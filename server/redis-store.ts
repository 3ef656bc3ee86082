import { createHmac, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { JWK } from 'jose'
import { LabError } from '../src/shared/errors.js'
import type { LiveSettings } from '../src/shared/settings.js'
import type { ServerConfig } from './config.js'
import { ConfigError } from './config-error.js'
import { loadSigningKeys, type SigningKeys } from './keys.js'
import { randomBase64url } from './random.js'
import { ACCEPTS, CLEAR_SESSIONS, COUNT_AND_PRUNE, CREATE_FAMILY, EXPIRE_TOKENS, REVOKE_FAMILY, ROTATE } from './redis-lua.js'
import {
  hashToken,
  type Family,
  type Grant,
  type IssuedRefreshToken,
  type RevokeReason,
  type RotateOutcome,
  type RotationSettings,
  type SessionStore,
  type TokenRecord,
} from './store.js'

/** Every key refresh-lab writes starts with this, so a lab can share a Redis database with other data. */
export const REDIS_PREFIX = 'rl:'

/** How long Redis keeps a record past its lab expiry, as the memory store's sweep does: a replay until then gets EXPIRED, not INVALID. */
export const RETAIN_MS = 3_600_000

/** About how many families one COUNT_AND_PRUNE call visits: Redis serves other clients between slices. */
export const COUNT_SLICE = 200

type Script = (...args: (string | number)[]) => Promise<unknown>
interface LabCommands {
  rlRotate: Script
  rlAccepts: Script
  rlCreateFamily: Script
  rlRevokeFamily: Script
  rlExpireTokens: Script
  rlCountAndPrune: Script
  rlClearSessions: Script
}

/**
 * The connection to the shared Redis: one client for commands (auto-pipelined, so concurrent
 * requests share round trips) and, for live events, one for subscriptions. Unreachable at start is a
 * ConfigError (one line, exit 2); lost later, every call fails fast with `503 STORE_UNAVAILABLE`
 * (no offline queue, so nothing waits or replays late) while ioredis reconnects in the background.
 */
export class RedisLink {
  readonly client: Redis & LabCommands
  #started = false
  #down = false
  #lastError: Error | undefined

  constructor(readonly url: string) {
    // Loaded here, not at the top: only `--store redis://…` needs ioredis, and loading it cost every
    // `burst` and `serve` in memory about 60 ms (issue 14). ioredis is CommonJS, so this is synchronous.
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis')
    this.client = new RedisClient(url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      // At start, one try: a wrong URL is the user's mistake, said at once. Later, retry for ever.
      retryStrategy: (times) => (this.#started ? Math.min(times * 100, 1_000) : null),
    }) as Redis & LabCommands
    for (const [name, lua] of Object.entries({
      rlRotate: ROTATE,
      rlAccepts: ACCEPTS,
      rlCreateFamily: CREATE_FAMILY,
      rlRevokeFamily: REVOKE_FAMILY,
      rlExpireTokens: EXPIRE_TOKENS,
      rlCountAndPrune: COUNT_AND_PRUNE,
      rlClearSessions: CLEAR_SESSIONS,
    }))
      this.client.defineCommand(name, { numberOfKeys: 0, lua })
    // Each call reports its own failure; the last one explains a failed start.
    this.client.on('error', (error: Error) => {
      this.#lastError = error
    })
    this.client.on('close', () => {
      if (this.#started && !this.#down)
        console.error(`store: lost the Redis at ${redactedUrl(url)}; answering 503 STORE_UNAVAILABLE until it is back`)
      if (this.#started) this.#down = true
    })
    this.client.on('ready', () => {
      if (this.#down) console.error(`store: the Redis at ${redactedUrl(url)} is back`)
      this.#down = false
    })
  }

  /** Connects once; a Redis that cannot be reached or answered stops startup with one line. */
  async start(): Promise<void> {
    try {
      await this.client.connect()
      await this.client.ping()
    } catch (error) {
      this.client.disconnect()
      const why = (this.#lastError ?? (error as Error)).message
      throw new ConfigError(`--store ${redactedUrl(this.url)}: cannot reach Redis (${why}); start redis-server there, or give another URL`)
    }
    this.#started = true
  }

  /** Runs a call, turning a lost or loading Redis into `503 STORE_UNAVAILABLE`; a script's own error stays a bug (500). */
  async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw unavailable(error) ?? error
    }
  }

  /**
   * The cluster's live settings (`rl:cfg`), which the Lua scripts read on every call: the first
   * instance's startup settings, then whatever `POST /_lab/config` or a reset sets on any instance.
   * Loads them into `settings`, so an instance joining a running cluster follows it.
   */
  async joinSettings(settings: LiveSettings): Promise<void> {
    await this.client.set(`${REDIS_PREFIX}cfg`, JSON.stringify(settings), 'NX')
    const kept = await this.client.get(`${REDIS_PREFIX}cfg`)
    if (kept !== null) Object.assign(settings, JSON.parse(kept) as LiveSettings)
  }

  /** Makes these the cluster's settings: the next rotation on any instance follows them. */
  async saveSettings(settings: LiveSettings): Promise<void> {
    await this.call(() => this.client.set(`${REDIS_PREFIX}cfg`, JSON.stringify(settings)))
  }

  close(): void {
    this.#started = false
    this.client.disconnect()
  }
}

/** The 503 a Redis failure becomes, or undefined for an error of ours. */
export function unavailable(error: unknown): LabError | undefined {
  if (error instanceof LabError) return undefined
  const message = error instanceof Error ? error.message : String(error)
  const transient = /^(LOADING|MISCONF|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/.test(message)
  if ((error as Error | undefined)?.name === 'ReplyError' && !transient) return undefined
  return new LabError('STORE_UNAVAILABLE', `the shared Redis store cannot be reached (${message}); retry once it is back`)
}

function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/**
 * Sessions in Redis, shared by every `serve` on the same `--store`: each mutation is one Lua script
 * (server/redis-lua.ts), so rotation is atomic across instances. Tokens are hashed and children
 * derived here, as the memory store does, with the refresh key the cluster shares (`rl:key`).
 */
export class RedisStore implements SessionStore {
  readonly kind = 'redis'
  #key: Buffer | undefined

  constructor(
    private readonly link: RedisLink,
    private readonly settings: RotationSettings,
    /** Tests shorten it to watch Redis expire the records. */
    private readonly retainMs = RETAIN_MS,
  ) {}

  /** The cluster's refresh key: the first instance's random one, read by all (children must derive alike). */
  async loadKey(): Promise<void> {
    const client = this.link.client
    await client.set(`${REDIS_PREFIX}key`, randomBytes(32).toString('base64'), 'NX')
    const key = await client.get(`${REDIS_PREFIX}key`)
    if (key === null) throw new ConfigError('--store: Redis lost the shared refresh key as it was written; start again')
    this.#key = Buffer.from(key, 'base64')
  }

  get key(): Buffer {
    if (!this.#key) throw new Error('RedisStore.loadKey() was not awaited')
    return this.#key
  }

  #args(): [string, string, number] {
    return [REDIS_PREFIX, JSON.stringify(this.settings), this.retainMs]
  }

  async createFamily(userId: string, now: number, grant: Grant = {}): Promise<IssuedRefreshToken> {
    const id = `fam_${randomBase64url(9)}`
    const token = randomBase64url(32)
    const [familyExpires, expiresAt] = (await this.link.call(() =>
      this.link.client.rlCreateFamily(
        ...this.#args(),
        id,
        userId,
        now,
        hashToken(token),
        grant.clientId ?? '',
        grant.scope ?? '',
        grant.authTime ?? '',
      ),
    )) as [string, string]
    const family: Family = {
      id,
      userId,
      createdAt: now,
      expiresAt: Number(familyExpires),
      status: 'active',
      generation: 1,
      ...(grant.clientId === undefined ? {} : { clientId: grant.clientId }),
      ...(grant.scope === undefined ? {} : { scope: grant.scope }),
      ...(grant.authTime === undefined ? {} : { authTime: grant.authTime }),
    }
    return { token, family, generation: 1, expiresAt: Number(expiresAt) }
  }

  async rotate(token: string, now: number): Promise<RotateOutcome> {
    const child = this.#childOf(token)
    // Always: the cluster's graceReturns (which the script reads) may have changed on another instance.
    const fresh = randomBase64url(32)
    const reply = (await this.link.call(() =>
      this.link.client.rlRotate(...this.#args(), hashToken(token), now, hashToken(child), hashToken(fresh)),
    )) as string[]
    const [kind, g, e, x, steps, familyId, ...fields] = reply
    if (kind === 'invalid' || familyId === undefined) return { kind: 'rejected', code: 'INVALID_REFRESH_TOKEN' }
    const family = familyFrom(familyId, fields)
    const generation = Number(g)
    switch (kind) {
      case 'revoked':
        return { kind: 'rejected', code: 'REFRESH_TOKEN_REVOKED', family, generation }
      case 'expired':
        return { kind: 'rejected', code: 'REFRESH_TOKEN_EXPIRED', family, generation }
      case 'reuse':
        return { kind: 'reuse', code: 'REFRESH_TOKEN_REUSED', family, generation, sinceRotationMs: Number(x) }
      case 'rotated':
        return { kind: 'rotated', token: child, family, generation, expiresAt: Number(e) }
      case 'graceNew':
        return { kind: 'grace', replayedGeneration: Number(x), token: fresh, family, generation, expiresAt: Number(e) }
      case 'grace': {
        // The script followed `steps` child links; the token is the child derived that many times.
        let newest = child
        for (let step = 1; step < Number(steps); step += 1) newest = this.#childOf(newest)
        return { kind: 'grace', replayedGeneration: Number(x), token: newest, family, generation, expiresAt: Number(e) }
      }
      default:
        throw new Error(`the rotation script answered ${String(kind)}`)
    }
  }

  async revokeFamily(familyId: string, reason: RevokeReason, now: number): Promise<boolean> {
    return (await this.link.call(() => this.link.client.rlRevokeFamily(...this.#args(), familyId, now, reason))) === 1
  }

  async families(userId?: string): Promise<Family[]> {
    const set = userId === undefined ? `${REDIS_PREFIX}s:fams` : `${REDIS_PREFIX}s:uf:${userId}`
    return this.link.call(async () => {
      const client = this.link.client
      const ids = await client.smembers(set)
      const rows = await Promise.all(ids.map((id) => client.hmget(`${REDIS_PREFIX}s:f:${id}`, ...FAMILY_FIELDS)))
      const gone = ids.filter((_, index) => rows[index]?.[0] === null)
      if (gone.length > 0) await client.srem(set, ...gone)
      return ids.flatMap((id, index) => {
        const row = rows[index]
        return row && row[0] !== null
          ? [
              familyFrom(
                id,
                row.map((value) => value ?? ''),
              ),
            ]
          : []
      })
    })
  }

  async expireRefreshTokens(now: number, familyIds?: ReadonlySet<string>): Promise<number> {
    if (familyIds?.size === 0) return 0
    return Number(await this.link.call(() => this.link.client.rlExpireTokens(...this.#args(), now, ...(familyIds ?? []))))
  }

  async lookup(token: string): Promise<Readonly<TokenRecord> | undefined> {
    const row = await this.link.call(() => this.link.client.hmget(`${REDIS_PREFIX}s:t:${hashToken(token)}`, 'f', 'g', 'i', 'e', 'r', 'n'))
    const [familyId, generation, issuedAt, expiresAt, rotatedAt, graceUses] = row
    if (familyId === null || familyId === undefined) return undefined
    return {
      familyId,
      generation: Number(generation),
      issuedAt: Number(issuedAt),
      expiresAt: Number(expiresAt),
      rotatedAt: rotatedAt ? Number(rotatedAt) : null,
      graceUses: Number(graceUses),
    }
  }

  /**
   * As RefreshStore.accepts, asked of the rotation's own rules in Redis (ACCEPTS in
   * server/redis-lua.ts): the cluster's settings, the cross-instance skew and the `parent` rule.
   */
  async accepts(token: string, now: number): Promise<boolean> {
    return (await this.link.call(() => this.link.client.rlAccepts(...this.#args(), hashToken(token), now))) === 1
  }

  async family(familyId: string): Promise<Family | undefined> {
    const row = await this.link.call(() => this.link.client.hmget(`${REDIS_PREFIX}s:f:${familyId}`, ...FAMILY_FIELDS))
    return row[0] === null
      ? undefined
      : familyFrom(
          familyId,
          row.map((value) => value ?? ''),
        )
  }

  async isActive(familyId: string): Promise<boolean> {
    return (await this.link.call(() => this.link.client.hget(`${REDIS_PREFIX}s:f:${familyId}`, 's'))) === 'active'
  }

  /** Redis expires the records by their TTLs; this only prunes the index sets. */
  async sweep(): Promise<number> {
    await this.counts()
    return 0
  }

  /** Walks every family in slices of about COUNT_SLICE, one script each, pruning as it goes. */
  async counts(): Promise<{ families: number; tokens: number }> {
    const live = new Map<string, number>()
    let cursor = '0'
    do {
      const at = cursor
      const [next, ...rows] = (await this.link.call(() => this.link.client.rlCountAndPrune(...this.#args(), at, COUNT_SLICE))) as [
        string,
        ...(string | number)[],
      ]
      // SSCAN may return an id twice (the set was resized meanwhile): a map counts it once.
      for (let index = 0; index + 1 < rows.length; index += 2) live.set(String(rows[index]), Number(rows[index + 1]))
      cursor = next
    } while (cursor !== '0')
    let tokens = 0
    for (const count of live.values()) tokens += count
    return { families: live.size, tokens }
  }

  async clear(): Promise<void> {
    await this.link.call(() => this.link.client.rlClearSessions(...this.#args()))
  }

  #childOf(token: string): string {
    return createHmac('sha256', this.key).update(token).digest('base64url')
  }
}

const FAMILY_FIELDS = ['u', 'c', 'e', 's', 'g', 'ra', 'rr', 'ci', 'sc', 'at'] as const

function familyFrom(
  id: string,
  [userId, createdAt, expiresAt, status, generation, revokedAt, revokedReason, clientId, scope, authTime]: string[],
): Family {
  return {
    id,
    userId: userId ?? '',
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
    status: status === 'revoked' ? 'revoked' : 'active',
    generation: Number(generation),
    ...(revokedAt ? { revokedAt: Number(revokedAt) } : {}),
    ...(revokedReason ? { revokedReason: revokedReason as RevokeReason } : {}),
    ...(clientId ? { clientId } : {}),
    ...(scope ? { scope } : {}),
    ...(authTime ? { authTime: Number(authTime) } : {}),
  }
}

/**
 * A random HS256 secret is the cluster's: the first instance's, read by all, so an access token
 * signed by one instance verifies on every other. A secret given by flag or variable is used as given.
 */
export async function sharedSecret(link: RedisLink, config: ServerConfig): Promise<Uint8Array | undefined> {
  if (config.secretSource !== 'random' || config.alg !== 'HS256') return undefined
  await link.client.set(`${REDIS_PREFIX}secret`, randomBytes(32).toString('base64'), 'NX')
  const secret = await link.client.get(`${REDIS_PREFIX}secret`)
  return secret === null ? undefined : new Uint8Array(Buffer.from(secret, 'base64'))
}

/** A generated key pair is the cluster's too: the first instance to store its private JWK wins, the others load it. */
export async function loadSharedSigningKeys(link: RedisLink, options: Parameters<typeof loadSigningKeys>[0]): Promise<SigningKeys> {
  if (options.alg === 'HS256' || options.keyFile !== undefined) return loadSigningKeys(options)
  const name = `${REDIS_PREFIX}jwk:${options.alg}`
  const kept = await link.client.get(name)
  if (kept !== null) return loadSigningKeys({ ...options, privateJwk: JSON.parse(kept) as JWK })
  const loaded = await loadSigningKeys(options)
  if ((await link.client.set(name, JSON.stringify(loaded.generatedPrivateJwk), 'NX')) === 'OK') return loaded
  return loadSharedSigningKeys(link, options)
}
