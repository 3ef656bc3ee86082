import { describe, expect, it } from 'vitest'
import type { FetchRecord } from './recording-fetch.js'
import { buildTimeline, formatTimeline } from './timeline.js'

const call = (seq: number, requestId: string, startedAt: number, endedAt: number, status: number, refresh = false): FetchRecord => ({
  seq,
  requestId,
  method: refresh ? 'POST' : 'GET',
  path: refresh ? '/api/auth/refresh' : '/api/users',
  startedAt,
  endedAt,
  status,
  refresh,
})

describe('buildTimeline', () => {
  it('flags a refresh that re-sent a refresh token an earlier refresh had sent', () => {
    const spend = (seq: number, requestId: string, at: number, token: string): FetchRecord => ({
      ...call(seq, requestId, at, at + 5, 200, true),
      refreshToken: token,
    })
    const rows = buildTimeline([spend(1, 'r1', 0, 'rt-1'), spend(2, 'r2', 1, 'rt-1'), spend(3, 'r3', 10, 'rt-2')])
    expect(rows.map((row) => row.steps[0]?.replay ?? false)).toEqual([false, true, false])
  })

  it('says a request waited for a refresh only when that refresh was running at its 401 and over by its retry', () => {
    const rows = buildTimeline(
      [
        call(1, 'r1', 0, 10, 401),
        call(2, 'r2', 1, 12, 401),
        call(3, 'r1', 11, 30, 200, true), // r1 refreshes; r2's 401 lands while it runs
        call(4, 'r3', 2, 40, 401), // r3's 401 lands after the refresh ended: a late 401
        call(5, 'r1', 31, 35, 200),
        call(6, 'r2', 31, 36, 200),
        call(7, 'r3', 41, 45, 200),
      ],
      new Map([
        ['r1', 'ok'],
        ['r2', 'ok'],
        ['r3', 'ok'],
        ['r4', 'TypeError: oops (my-client.ts:3)'],
      ]),
    )
    expect(
      rows.map((row) => [row.request, row.steps.map((step) => (step.kind === 'waited' ? `waited:${step.refresh ?? 'none'}` : step.kind))]),
    ).toEqual([
      ['r1', ['attempt', 'refresh', 'retry']],
      ['r2', ['attempt', 'waited:1', 'retry']],
      ['r3', ['attempt', 'waited:none', 'retry']],
      ['r4', []],
    ])
    const text = formatTimeline(rows)
    expect(text).toMatch(/r3 .*retried with the stored token/)
    expect(text).not.toMatch(/r3 .*waited for/)
    expect(text).toMatch(/r4 +no HTTP call {2}│ {2}→ TypeError: oops \(my-client\.ts:3\)/)
  })
})
