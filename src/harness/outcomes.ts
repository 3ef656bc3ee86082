import type { FetchRecord } from './recording-fetch.js'

/**
 * The error code a failed request counts under: the `code` a client put on its error (ApiError,
 * the harness's TIMEOUT), `NETWORK_ERROR` for a bare fetch failure, otherwise `ERROR`.
 */
export function failureCode(reason: unknown): string {
  const code = (reason as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code !== '') return code
  if (reason instanceof TypeError && (reason as { cause?: unknown }).cause !== undefined) return 'NETWORK_ERROR'
  return 'ERROR'
}

/** Refresh calls that sent a refresh token an earlier call had already sent. */
export function countReplays(refreshCalls: readonly FetchRecord[]): number {
  const spent = new Set<string>()
  let replays = 0
  for (const call of refreshCalls) {
    if (call.refreshToken === undefined) continue
    if (spent.has(call.refreshToken)) replays += 1
    spent.add(call.refreshToken)
  }
  return replays
}
