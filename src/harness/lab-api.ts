import { Agent, fetch as undiciFetch } from 'undici'
import type { DataEnvelope, LabClockState, LabStats, TokenPair } from '../shared/wire.js'
import { ROUTES } from '../shared/wire.js'
import { HarnessError } from './errors.js'
import { describeFetchError } from './recording-fetch.js'

/**
 * The harness's side channel to a lab server: sign in, read the counters, move the clock. It
 * speaks plain HTTP, so the harness can drive any refresh-lab server, embedded or not.
 */
export class LabApi {
  // Its own small pool, closed by `close()`, so no idle socket keeps the CLI's process alive.
  readonly #dispatcher = new Agent({ connections: 2 })

  constructor(readonly baseUrl: string) {}

  close(): Promise<void> {
    return this.#dispatcher.close()
  }

  async login(email: string, password: string): Promise<TokenPair> {
    const answer = await this.#call<DataEnvelope<TokenPair>>('POST', ROUTES.login, { email, password })
    return answer.data
  }

  stats(): Promise<LabStats> {
    return this.#call<LabStats>('GET', ROUTES.labStats)
  }

  advanceClock(ms: number): Promise<LabClockState> {
    return this.#call<LabClockState>('POST', ROUTES.labClock, { advance: `${ms}ms` })
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Awaited<ReturnType<typeof undiciFetch>>
    try {
      response = await undiciFetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
        dispatcher: this.#dispatcher,
      })
    } catch (error) {
      const reason = error instanceof Error ? describeFetchError(error) : String(error)
      throw new HarnessError('unreachable', `cannot reach ${this.baseUrl} (${reason}); is \`refresh-lab serve\` running there?`, { cause: error })
    }
    const text = await response.text()
    let json: unknown = null
    try {
      json = JSON.parse(text)
    } catch {
      // handled below: a lab server always answers JSON
    }
    if (response.status === 404 && path.startsWith('/_lab')) {
      throw new HarnessError('unreachable', `${this.baseUrl} has no lab control API (${path} answered 404); point --url at \`refresh-lab serve\``)
    }
    if (!response.ok || json === null) {
      const error = (json as { error?: { code?: string; message?: string } } | null)?.error
      const detail = error ? `${error.code}: ${error.message}` : `HTTP ${response.status}`
      throw new HarnessError('usage', `${method} ${path} failed (${detail})`)
    }
    return json as T
  }
}
