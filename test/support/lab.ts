import { afterAll, beforeAll, beforeEach } from 'vitest'
import type { ClientContext } from '../../src/client/contract.js'
import { createRecordingStorage, type RecordingStorage } from '../../src/harness/memory-storage.js'
import type { LabStats, TokenPair } from '../../src/shared/wire.js'
import { resolveServerConfig, type ServerFlags } from '../../server/config.js'
import { startServer, type RunningServer } from '../../server/start.js'

export interface Harness {
  readonly url: string
  readonly server: RunningServer
  /** Signs the demo user in and stores the tokens, as an app does after its login screen. */
  signIn(storage?: RecordingStorage): Promise<{ storage: RecordingStorage; tokens: TokenPair }>
  /** Moves the lab clock past the access token's expiry. */
  expireAccessToken(): Promise<void>
  stats(): Promise<LabStats>
  /** A client context over real fetch that counts `/refresh` calls and `onLogout`. */
  context(storage: RecordingStorage, fetchImpl?: typeof fetch): ClientContext & { refreshCalls(): number; logouts(): number }
}

/**
 * Starts a real lab server on a free loopback port for one test file, resets it before each
 * test and closes it after the file.
 */
export function useLab(flags: ServerFlags = {}): Harness {
  let server: RunningServer | undefined
  beforeAll(async () => {
    server = await startServer(resolveServerConfig({ host: '127.0.0.1', port: '0', accessTtl: '30s', ...flags }, {}))
  })
  afterAll(async () => {
    await server?.close()
  })
  beforeEach(() => {
    server?.lab.reset()
  })
  const running = () => {
    if (!server) throw new Error('the lab server is not running yet')
    return server
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${running().url}${path}`, init)
    return (await res.json()) as T
  }

  return {
    get url() {
      return running().url
    },
    get server() {
      return running()
    },
    async signIn(storage = createRecordingStorage()) {
      const { data } = await json<{ data: TokenPair }>('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@example.com', password: 'password' }),
      })
      await storage.save({ accessToken: data.access_token, refreshToken: data.refresh_token })
      return { storage, tokens: data }
    },
    async expireAccessToken() {
      running().lab.clock.advance(31_000)
    },
    stats: () => json<LabStats>('/_lab/stats'),
    context(storage, fetchImpl = fetch) {
      let refreshCalls = 0
      let logouts = 0
      const counting: typeof fetch = (input, init) => {
        if (String(input).endsWith('/api/auth/refresh')) refreshCalls += 1
        return fetchImpl(input, init)
      }
      return {
        baseUrl: running().url,
        fetch: counting,
        storage,
        onLogout: () => {
          logouts += 1
        },
        refreshCalls: () => refreshCalls,
        logouts: () => logouts,
      }
    },
  }
}
