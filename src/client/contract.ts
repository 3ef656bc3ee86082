/**
 * The client contract. The harness drives every client through it: ours, the faulty ones, and
 * yours (`--client ./my-client.mjs`). A client module exports `createClient(ctx)`.
 */

/** What a signed-in client keeps between requests. */
export interface Tokens {
  accessToken: string
  refreshToken: string
}

export interface StoredTokens {
  accessToken: string | null
  refreshToken: string | null
}

/** Where tokens live: SecureStore, localStorage, a cookie jar. The harness gives an instrumented one. */
export interface TokenStorage {
  load(): Promise<StoredTokens>
  save(tokens: Tokens): Promise<void>
  clear(): Promise<void>
}

export interface ClientContext {
  /** The API's origin, e.g. `http://127.0.0.1:4000`, without a trailing slash. */
  baseUrl: string
  /** The fetch to use for every call, so the harness can count and fault them. */
  fetch: typeof fetch
  storage: TokenStorage
  /** Called when the session is over (the refresh token was refused): send the user to sign in. */
  onLogout: () => void
}

export interface Client {
  /**
   * Sends an authed request. Resolves with the parsed JSON body on success; rejects with an
   * `ApiError` carrying `status` and `code` (from the error envelope), or a network error.
   */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
}

export type CreateClient = (ctx: ClientContext) => Client

/**
 * An error a client rejects with: the HTTP status and the server's error code, or status 0 and
 * `NETWORK_ERROR` when no answer arrived.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ApiError'
  }

  /** Builds the error from a response body that may or may not be the `{"error":{…}}` envelope. */
  static fromResponse(status: number, body: unknown): ApiError {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${status}`
    const message = typeof error?.message === 'string' ? error.message : `the server answered ${status}`
    return new ApiError(status, code, message)
  }
}
