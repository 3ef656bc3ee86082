import type { Client, CreateClient } from '../client/contract.js'
import { ROUTES, type LabStats } from '../shared/wire.js'
import { BURST_SCHEMA, type BurstReport } from './burst-report.js'
import { check, checkCount, type Expectation } from './expectations.js'
import { HarnessError } from './errors.js'
import { LabApi } from './lab-api.js'
import { createRecordingStorage } from './memory-storage.js'
import { countReplays, failureCode } from './outcomes.js'
import { createRecordingFetch, requestTag } from './recording-fetch.js'
import { RunBound, type Settled } from './run-bound.js'
import { buildTimeline } from './timeline.js'
import { clientSession, type ClientSession } from './session-state.js'

/**
 * Up to this many requests are on the wire at once; beyond it they queue in the client's pool,
 * still issued together and still carrying the expired token. Measured with 10 000 requests on
 * 2 cores: one connection each took 16 s and 790 MB, 1024 took 10 s and 570 MB; and 10 000
 * connections on each side come close to the usual limit of 20 000 open files.
 */
const MAX_CONNECTIONS = 1024

export interface BurstOptions {
  /** A running refresh-lab server. */
  url: string
  /** Its lab token, when it was started with one (default: REFRESH_LAB_TOKEN). */
  labToken?: string
  /** Whether the caller started that server for this run (shown in the report). */
  embedded?: boolean
  createClient: CreateClient
  /** The client's name in the report (`reference`, `naive`, `./my-client.mjs`). */
  clientName: string
  parallel: number
  method?: string
  path?: string
  email?: string
  password?: string
  /** Refresh calls the run must see, on both sides; default 1. */
  expectRefreshes?: number
  /** Accept reuse detection instead of failing on it. */
  allowReuse?: boolean
  /** Upper bound for the whole burst; calls still in flight then are aborted. Default 30 s. */
  timeoutMs?: number
  /** Include the per-request timeline in the report. */
  timeline?: boolean
}

/**
 * Signs in, expires the access token by moving the lab clock past it, fires `parallel` requests
 * at once through the client, and reports what both sides saw against the expectations.
 *
 * @example
 * const report = await runBurst({ url, createClient, clientName: 'mine', parallel: 10 })
 * if (report.verdict !== 'pass') process.exitCode = 1
 */
export async function runBurst(options: BurstOptions): Promise<BurstReport> {
  const { parallel } = options
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 100_000) {
    throw new HarnessError('usage', `--parallel must be a whole number from 1 to 100000, got ${parallel}`)
  }
  const method = (options.method ?? 'GET').toUpperCase()
  if (!/^[A-Z]+$/.test(method) || method === 'CONNECT' || method === 'TRACE') {
    throw new HarnessError('usage', `--method must be an HTTP method such as GET or POST, got "${options.method ?? ''}"`)
  }
  const path = options.path ?? ROUTES.users
  if (!path.startsWith('/')) throw new HarnessError('usage', `--path must start with "/", got "${path}"`)
  const url = options.url.replace(/\/+$/, '')
  const lab = new LabApi(url, options.labToken)
  try {
    return await burstThrough(lab, { ...options, parallel, method, path, url })
  } finally {
    await lab.close()
  }
}

type ResolvedBurstOptions = BurstOptions & { method: string; path: string }

async function burstThrough(lab: LabApi, options: ResolvedBurstOptions): Promise<BurstReport> {
  const { parallel, method, path, url } = options

  const signedIn = await lab.login(options.email ?? 'demo@example.com', options.password ?? 'password')
  const storage = createRecordingStorage()
  await storage.save({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken })
  // Past the access token's expiry by the lab clock, so every request of the burst gets a 401.
  await lab.advanceClock(Math.max(0, signedIn.expiresInMs) + 1000)
  const before = await lab.stats()

  const bound = new RunBound(options.timeoutMs ?? 30_000)
  const maxCalls = parallel * 4 + 10
  const recorder = createRecordingFetch({
    connections: Math.min(parallel, MAX_CONNECTIONS),
    refreshPath: ROUTES.refresh,
    maxCalls,
    onLimit: () => bound.end('CALL_LIMIT'),
  })
  let onLogoutCalls = 0
  let client: Client
  try {
    client = options.createClient({
      baseUrl: url,
      fetch: recorder.fetch,
      storage,
      onLogout: () => {
        onLogoutCalls += 1
      },
    })
  } catch (error) {
    bound.dispose()
    await recorder.close()
    throw new HarnessError('usage', `createClient(ctx) of the ${options.clientName} client threw: ${(error as Error).message}`, { cause: error })
  }
  if (typeof (client as Partial<Client> | undefined)?.request !== 'function') {
    bound.dispose()
    await recorder.close()
    throw new HarnessError('usage', `createClient(ctx) of the ${options.clientName} client must return an object with a request(method, path, body) function`)
  }

  const started = performance.now()
  let outcomes: Settled<unknown>[]
  try {
    outcomes = await Promise.all(
      Array.from({ length: parallel }, (_, index) =>
        bound.settle(requestTag.run({ id: `r${index + 1}` }, () => Promise.resolve().then(() => client.request(method, path)))),
      ),
    )
  } finally {
    bound.dispose()
    recorder.abort('the burst ended')
    await recorder.close()
  }
  const durationMs = performance.now() - started
  const after = await lab.stats()

  const refreshCalls = recorder.calls.filter((call) => call.refresh)
  const server = difference(before, after)
  const failures = countFailures(outcomes)
  const succeeded = outcomes.filter((o) => o.ok).length
  const replays = countReplays(refreshCalls)
  const loggedOut = onLogoutCalls > 0 || storage.current.refreshToken === null
  const session = await clientSession(lab, storage.current)
  // The server decides what a reuse is: a replay inside the reuse grace is allowed.
  const reuseDetected = server.reuseDetected > 0
  const expectRefreshes = options.expectRefreshes ?? 1

  const expectations: Expectation[] = [
    check('refresh calls (client)', expectRefreshes, refreshCalls.length),
    check('refresh calls (server)', expectRefreshes, server.calls),
    check('client and server agree', refreshCalls.length, server.calls),
    ...(options.allowReuse ? [] : [check('no refresh-token reuse', 'none', reuseDetected ? `${server.reuseDetected} detected, ${replays} replayed` : 'none')]),
    check('requests succeeded', parallel, succeeded),
    check('still signed in', 'yes', signedInVerdict(loggedOut, session)),
    checkCount('HTTP calls within the bound', { max: maxCalls }, recorder.calls.length + recorder.refused),
  ]

  return {
    schema: BURST_SCHEMA,
    verdict: expectations.every((e) => e.pass) ? 'pass' : 'fail',
    url,
    embedded: options.embedded ?? false,
    client: options.clientName,
    parallel,
    method,
    path,
    requests: { total: parallel, succeeded, failed: parallel - succeeded, failures },
    refresh: {
      clientCalls: refreshCalls.length,
      serverCalls: server.calls,
      succeeded: server.succeeded,
      rejected: server.rejected,
      graceReuses: server.graceReuses,
    },
    reuse: { detected: reuseDetected, count: server.reuseDetected, replays },
    loggedOut,
    onLogoutCalls,
    session: session.state,
    expectations,
    durationMs: Math.round(durationMs * 10) / 10,
    ...(options.timeline ? { timeline: buildTimeline(recorder.calls, endings(outcomes)) } : {}),
  }
}

/** `yes`, or why not: the client signed out, or its session is dead on the server. */
function signedInVerdict(loggedOut: boolean, session: ClientSession): string {
  if (loggedOut) return 'no, signed out'
  if (session.state === 'revoked') return `no, session revoked on the server (${session.revokedReason ?? 'unknown'})`
  if (session.state !== 'active') return `no, session ${session.state}`
  return 'yes'
}

function difference(before: LabStats, after: LabStats) {
  return {
    calls: after.refresh.calls - before.refresh.calls,
    succeeded: after.refresh.succeeded - before.refresh.succeeded,
    rejected: after.refresh.rejected - before.refresh.rejected,
    graceReuses: after.refresh.graceReuses - before.refresh.graceReuses,
    reuseDetected: after.reuseDetected - before.reuseDetected,
  }
}

/** How each request (`r1`, `r2`, …) ended, for the timeline. */
function endings(outcomes: Settled<unknown>[]): Map<string, string> {
  return new Map(outcomes.map((o, index) => [`r${index + 1}`, o.ok ? 'ok' : 'ended' in o ? o.ended : failureCode(o.error)]))
}

function countFailures(outcomes: Settled<unknown>[]): Record<string, number> {
  const byCode: Record<string, number> = {}
  for (const outcome of outcomes) {
    if (outcome.ok) continue
    const code = 'ended' in outcome ? outcome.ended : failureCode(outcome.error)
    byCode[code] = (byCode[code] ?? 0) + 1
  }
  return byCode
}
