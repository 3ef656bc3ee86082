import type { CreateClient } from '../client/contract.js'
import { ROUTES, type LabStats } from '../shared/wire.js'
import { BURST_SCHEMA, type BurstReport } from './burst-report.js'
import { check, checkCount, type Expectation } from './expectations.js'
import { HarnessError } from './errors.js'
import { LabApi } from './lab-api.js'
import { createRecordingStorage } from './memory-storage.js'
import { BYPASS_NOTE, clientTrouble, countFailures, countReplays, outcomeOf, type RequestOutcome } from './outcomes.js'
import { RunBound } from './run-bound.js'
import { buildTimeline } from './timeline.js'
import { clientSession, type ClientSession } from './session-state.js'
import { ClientUnderTest } from './tabs/client-under-test.js'
import { resolveClientSpec } from './tabs/client-spec.js'

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
  /**
   * The client: a built-in name (`reference`, `naive`, …), a module path (`./my-client.ts`) or
   * `exec:<command>`, each run isolated in its own thread or process (docs/clients.md).
   */
  client?: string
  /** Or a `createClient` function, run in this thread: not isolated from the caller. */
  createClient?: CreateClient
  /** The client's name in the report (default: `client`). */
  clientName?: string
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
  const api = new LabApi(url, options.labToken)
  try {
    return await burstThrough(api, { ...options, parallel, method, path, url })
  } finally {
    await api.close()
  }
}

type ResolvedBurstOptions = BurstOptions & { method: string; path: string }

async function burstThrough(api: LabApi, options: ResolvedBurstOptions): Promise<BurstReport> {
  const { parallel, method, path, url } = options
  const clientSource = options.client ?? options.createClient
  if (clientSource === undefined) throw new HarnessError('usage', 'runBurst needs a client: a name, a module path, exec:<command> or createClient')
  const spec = resolveClientSpec(clientSource, options.clientName === undefined ? {} : { name: options.clientName })

  // The lifecycle of docs/clients.md: signed in with a saved session, then the client starts.
  const signedIn = await api.login(options.email ?? 'demo@example.com', options.password ?? 'password')
  const storage = createRecordingStorage()
  await storage.save({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken })
  // Past the access token's expiry by the lab clock, so every request of the burst gets a 401.
  await api.advanceClock(Math.max(0, signedIn.expiresInMs) + 1000)
  const before = await api.stats()

  const timeoutMs = options.timeoutMs ?? 30_000
  const maxCalls = parallel * 4 + 10
  let onLimit = () => undefined as void
  // The tab starts and loads the client before the clock runs; createClient and the requests are timed.
  const client = await ClientUnderTest.open({
    spec,
    baseUrl: url,
    tabs: 1,
    connections: Math.min(parallel, MAX_CONNECTIONS),
    refreshPath: ROUTES.refresh,
    maxCalls,
    storage,
    onLimit: () => onLimit(),
  })
  const bound = new RunBound(timeoutMs)
  onLimit = () => bound.end('CALL_LIMIT')
  try {
    const created = await Promise.race([client.create().then(() => true), bound.ended.then(() => false)])
    if (!created) throw new HarnessError('usage', `client ${spec.name}: createClient(ctx) did not return within ${timeoutMs / 1000}s`)
  } catch (error) {
    bound.dispose()
    await client.close()
    throw error
  }

  const started = performance.now()
  let outcomes: RequestOutcome[]
  try {
    outcomes = await Promise.all(
      Array.from({ length: parallel }, async (_, index) => {
        const id = `r${index + 1}`
        return outcomeOf(id, await bound.settle(client.request(0, id, method, path, undefined)))
      }),
    )
  } finally {
    bound.dispose()
    await client.close()
  }
  const durationMs = performance.now() - started
  const after = await api.stats()

  const refreshCalls = client.calls.filter((call) => call.refresh)
  const server = difference(before, after)
  const succeeded = outcomes.filter((o) => o.ok).length
  const replays = countReplays(refreshCalls)
  const loggedOut = client.onLogoutCalls > 0 || storage.current.refreshToken === null
  const session = await clientSession(api, storage.current)
  // The server decides what a reuse is: a replay inside the reuse grace is allowed.
  const reuseDetected = server.reuseDetected > 0
  const expectRefreshes = options.expectRefreshes ?? 1
  const bypassed = client.bypassedFetch({ succeeded, serverRefreshes: server.calls })
  const error = clientTrouble(client, outcomes, timeoutMs)

  const expectations: Expectation[] = [
    ...(bypassed ? [] : [check('refresh calls (client)', expectRefreshes, refreshCalls.length)]),
    check('refresh calls (server)', expectRefreshes, server.calls),
    ...(bypassed ? [] : [check('client and server agree', refreshCalls.length, server.calls)]),
    ...(options.allowReuse ? [] : [check('no refresh-token reuse', 'none', reuseDetected ? `${server.reuseDetected} detected${bypassed ? '' : `, ${replays} replayed`}` : 'none')]),
    check('requests succeeded', parallel, succeeded),
    check('still signed in', 'yes', signedInVerdict(loggedOut, session)),
    ...(bypassed ? [] : [checkCount('HTTP calls within the bound', { max: maxCalls }, client.calls.length + client.refused)]),
  ]
  const passed = expectations.every((e) => e.pass)

  return {
    schema: BURST_SCHEMA,
    verdict: error !== undefined ? 'error' : passed ? 'pass' : 'fail',
    ...(error === undefined ? {} : { error }),
    url,
    embedded: options.embedded ?? false,
    client: spec.name,
    parallel,
    method,
    path,
    requests: { total: parallel, succeeded, failed: parallel - succeeded, failures: countFailures(outcomes) },
    refresh: {
      clientCalls: refreshCalls.length,
      serverCalls: server.calls,
      succeeded: server.succeeded,
      rejected: server.rejected,
      graceReuses: server.graceReuses,
    },
    reuse: { detected: reuseDetected, count: server.reuseDetected, replays },
    loggedOut,
    onLogoutCalls: client.onLogoutCalls,
    session: session.state,
    expectations,
    clientCounts: bypassed ? 'unavailable' : 'recorded',
    notes: bypassed ? [BYPASS_NOTE] : [],
    ...(passed && error === undefined ? {} : client.printed()),
    durationMs: Math.round(durationMs * 10) / 10,
    ...(options.timeline && !bypassed ? { timeline: buildTimeline(client.calls, new Map(outcomes.map((o) => [o.id, o.ok ? 'ok' : (o.code ?? 'ERROR')]))) } : {}),
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
