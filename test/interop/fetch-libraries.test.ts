import { describe, expect, it } from 'vitest'
import type { BurstReport } from '../../src/harness/burst-report.js'
import type { RunReport } from '../../src/harness/scenario/report.js'
import { runCli } from '../support/cli.js'

/**
 * Clients written the way ky, axios (fetch adapter), ofetch and got document silent refresh, with
 * the real packages. What each must pass or fail was decided from reading it (see each file's
 * header): none checks whether another request already refreshed, so all four refresh again for a
 * late 401, and ofetch's 401 hook refreshes again when the retry gets a 401 too (retry-still-401). axios's failed-request queue and ofetch's retry also have a race: a queued retry that gets TOKEN_REVOKED
 * (the other tab's reuse revoked the session) starts a third refresh when it loses the race, so its
 * two-tabs verdict may go either way. Everything else they do right, and the harness must say so:
 * no harness error, whatever fetch form they use.
 */
const CLIENTS: [string, string[], string[]][] = [
  ['ky-client.ts', ['late-401'], []],
  ['axios-fetch-client.ts', ['late-401'], ['two-tabs']],
  ['ofetch-client.ts', ['late-401', 'retry-still-401'], ['two-tabs']],
  ['got-client.ts', ['late-401'], []],
]

describe.each(CLIENTS)('%s, as its docs show', (file, expectedFailures, racy) => {
  const client = `./test/clients/${file}`

  it(`run: fails exactly ${expectedFailures.join(', ')}, on its merits`, async () => {
    const result = await runCli(['run', '--client', client, '--json'])
    const report = JSON.parse(result.stdout) as RunReport
    const failed = report.scenarios.filter((s) => s.verdict === 'fail' || s.verdict === 'error').map((s) => s.name)
    expect(failed.filter((name) => !racy.includes(name))).toEqual(expectedFailures)
    expect(report.scenarios.filter((s) => s.verdict === 'error')).toEqual([])
    const late = report.scenarios.find((s) => s.name === 'late-401')
    expect(late).toMatchObject({ refresh: { serverCalls: 2 }, reuse: { detected: false }, requests: { failed: 0 } })
    expect(result.code).toBe(1)
  }, 60_000)

  it('burst: every request succeeds with no reuse, whatever the refresh count', async () => {
    const result = await runCli(['burst', '--client', client, '--json'])
    const report = JSON.parse(result.stdout) as BurstReport
    expect(report).toMatchObject({ requests: { succeeded: 10 }, reuse: { detected: false }, loggedOut: false })
    expect(report.refresh.serverCalls).toBeGreaterThanOrEqual(1)
    // got cannot take a custom fetch: judged on the server's counts, and told so.
    expect(report.clientCounts).toBe(file === 'got-client.ts' ? 'unavailable' : 'recorded')
  })
})
