import type { FetchRecord } from './recording-fetch.js'
import type { Settled } from './run-bound.js'
import type { ClientUnderTest } from './tabs/client-under-test.js'
import type { ClientFailure } from './tabs/client-error.js'
import type { TabAnswer } from './tabs/messages.js'

/** How one harness request ended, as the reports count it. */
export interface RequestOutcome {
  id: string
  ok: boolean
  value?: unknown
  /** What it failed with: the client's error code, `TypeError: oops (my-client.ts:12)`, `TIMEOUT`, … */
  code?: string
  failure?: ClientFailure
}

export function outcomeOf(id: string, settled: Settled<TabAnswer>): RequestOutcome {
  if (!settled.ok) return { id, ok: false, code: 'ended' in settled ? settled.ended : 'ERROR' }
  const answer = settled.value
  return answer.ok ? { id, ok: true, value: answer.value } : { id, ok: false, code: answer.failure.code, failure: answer.failure }
}

/** Failed requests by what they failed with, e.g. `{ "REFRESH_TOKEN_REUSED": 9 }`. */
export function countFailures(outcomes: readonly RequestOutcome[]): Record<string, number> {
  const byCode: Record<string, number> = {}
  for (const outcome of outcomes) {
    if (outcome.ok) continue
    const code = outcome.code ?? 'ERROR'
    byCode[code] = (byCode[code] ?? 0) + 1
  }
  return byCode
}

/** `10× TypeError: oops (my-client.ts:12), 2× TOKEN_EXPIRED`. */
export function formatFailures(failures: Record<string, number>): string {
  return Object.entries(failures)
    .map(([code, count]) => `${count}× ${code}`)
    .join(', ')
}

/**
 * Why a run could not reach a fair verdict because of the client itself: it exited or crashed, or
 * it left requests unanswered until the time bound.
 */
export function clientTrouble(client: ClientUnderTest, outcomes: readonly RequestOutcome[], timeoutMs: number): string | undefined {
  if (client.died !== undefined) return client.died
  if (outcomes.some((outcome) => outcome.code === 'TIMEOUT')) return `client did not answer within ${formatSeconds(timeoutMs)}`
  return undefined
}

/** The note a report carries when the client's calls bypassed the harness's fetch. */
export const BYPASS_NOTE =
  "the client's calls (at least its refreshes) did not go through ctx.fetch; client-side counts are unavailable, the verdict rests on the server's counts"

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

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`
}
