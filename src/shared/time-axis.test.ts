import { describe, expect, it } from 'vitest'
import { axisFromTimeline } from '../harness/html-report.js'
import { axisFromLabEvents, drawTimeAxis, lastBurst } from './time-axis.js'
import type { LabEvent } from './wire.js'

const REFRESH = ['POST /api/auth/refresh']
let id = 0
const request = (route: string, status: number, startMs: number, endMs: number, more: Partial<LabEvent> = {}): LabEvent => ({
  id: ++id,
  at: '2026-11-27T00:00:00.000Z',
  type: 'request',
  route,
  status,
  startMs,
  endMs,
  ...more,
})
const users = (status: number, start: number, end: number, code?: string) =>
  request('GET /api/users', status, start, end, { family: 'fam_1', ...(code ? { code } : {}) })

describe('the time axis from the lab events', () => {
  it('pairs each retry with a 401 of its session and links it to the refresh that ended in between', () => {
    const rows = axisFromLabEvents(
      [
        users(401, 0, 5, 'TOKEN_EXPIRED'),
        users(401, 1, 6, 'TOKEN_EXPIRED'),
        request('POST /api/auth/refresh', 200, 6, 9),
        users(200, 10, 12),
        users(200, 10.5, 12.5),
        // No session: never anyone's retry.
        request('GET /api/users', 401, 20, 21, { code: 'MISSING_TOKEN' }),
      ],
      REFRESH,
    )
    expect(rows.map((row) => [row.kind, row.bars.map((bar) => `${bar.kind}:${bar.status}`)])).toEqual([
      ['request', ['attempt:401', 'retry:200']],
      ['request', ['attempt:401', 'retry:200']],
      ['refresh', ['refresh:200']],
      ['request', ['attempt:401']],
    ])
    const refreshId = rows[2]?.id
    expect(rows[0]?.waits).toEqual([{ from: 5, to: 10, refresh: refreshId }])
    expect(rows[1]?.waits).toEqual([{ from: 6, to: 10.5, refresh: refreshId }])
  })

  it('does not take a second 401 for the retry of the first, and marks a refused reuse', () => {
    const rows = axisFromLabEvents(
      [
        users(401, 0, 5, 'TOKEN_EXPIRED'),
        users(401, 6, 7, 'TOKEN_EXPIRED'),
        request('POST /api/auth/refresh', 401, 8, 9, { code: 'REFRESH_TOKEN_REUSED' }),
      ],
      REFRESH,
    )
    expect(rows.filter((row) => row.kind === 'request')).toHaveLength(2)
    expect(rows.find((row) => row.kind === 'refresh')?.bars[0]?.reuse).toBe(true)
  })

  it('finds the last burst after a quiet gap', () => {
    const rows = axisFromLabEvents([users(200, 0, 10), users(200, 5, 20), users(200, 1500, 1510), users(200, 1505, 1530)], REFRESH)
    expect(lastBurst(rows)).toEqual({ from: 1500, to: 1530 })
    expect(lastBurst([])).toBeUndefined()
  })
})

describe('drawTimeAxis', () => {
  it('draws bars from the axis origin, links waits to refresh rows, and escapes every text', () => {
    const html = drawTimeAxis([
      {
        id: 'a',
        kind: 'request',
        label: '<r1>',
        bars: [{ kind: 'attempt', start: 100, end: 110, status: '401' }],
        waits: [{ from: 110, to: 130, refresh: 'f' }],
      },
      { id: 'f', kind: 'refresh', label: 'by r1', bars: [{ kind: 'refresh', start: 111, end: 129, status: '200' }], waits: [] },
    ])
    expect(html).toContain('data-start="0" data-end="10"')
    expect(html).toContain('href="#ta-f"')
    expect(html).toContain('&lt;r1&gt;')
    expect(html).not.toContain('<r1>')
    expect(drawTimeAxis([])).toContain('data-rows="0"')
  })
})

describe('the time axis from the harness timeline', () => {
  it('gives each refresh its own row and links the requests that waited on it', () => {
    const rows = axisFromTimeline([
      {
        request: 'r1',
        steps: [
          { kind: 'attempt', at: 0, until: 5, status: 401 },
          { kind: 'refresh', at: 5, until: 9, status: 200, refresh: 1 },
          { kind: 'retry', at: 10, until: 12, status: 200 },
        ],
        outcome: 'ok',
      },
      {
        request: 'r2',
        steps: [
          { kind: 'attempt', at: 1, until: 6, status: 401 },
          { kind: 'refresh', at: 6, until: 8, status: 401, refresh: 2, replay: true },
        ],
        outcome: 'REFRESH_TOKEN_REUSED',
      },
    ])
    expect(rows.map((row) => row.id)).toEqual(['req-r1', 'req-r2', 'refresh-1', 'refresh-2'])
    expect(rows[0]?.waits).toEqual([{ from: 5, to: 10, refresh: 'refresh-1' }])
    // r2 never retried: it waited until its own refresh was refused.
    expect(rows[1]?.waits).toEqual([{ from: 6, to: 8, refresh: 'refresh-2' }])
    expect(rows[3]?.bars[0]?.reuse).toBe(true)
  })
})
