import type { CreateClient } from '../client/contract.js'
import { ROUTES } from '../shared/wire.js'
import { BURST_SCHEMA, type BurstReport } from './burst-report.js'
import { HarnessError } from './errors.js'
import { LabApi } from './lab-api.js'
import { runScenario, type RunnableScenario } from './scenario/runner.js'
import { resolveClientSpec } from './tabs/client-spec.js'

/**
 * Up to this many requests are on the wire at once; beyond it they queue in the client's pool,
 * still issued together and still carrying the expired token. Measured with 10 000 requests on
 * 2 cores: one connection each took 16 s and 790 MB, 1024 took 10 s and 570 MB, and 128 took
 * 0.92x the CPU and 0.94x the wall time of 1024 with the same peak memory (paired runs, issue 14);
 * more connections only add sockets for the two event loops to serve.
 */
export const MAX_CONNECTIONS = 128

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
 * at once through the client, and reports what both sides saw against the expectations. It is a
 * scenario built from these options, run on the server as it was started.
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
  const clientSource = options.client ?? options.createClient
  if (clientSource === undefined)
    throw new HarnessError('usage', 'runBurst needs a client: a name, a module path, exec:<command> or createClient')
  const client = resolveClientSpec(clientSource, options.clientName === undefined ? {} : { name: options.clientName })

  const scenario = burstScenario({ ...options, parallel, method, path })
  const api = new LabApi(url, options.labToken)
  const { result, requestsMs } = await runScenario(
    { scenario, file: '(burst)' },
    { url, api, client, timeline: options.timeline === true, alone: true },
  ).finally(() => api.close())
  return {
    schema: BURST_SCHEMA,
    verdict: result.verdict,
    ...(result.error === undefined ? {} : { error: result.error }),
    url,
    embedded: options.embedded ?? false,
    client: client.name,
    parallel,
    method,
    path,
    requests: result.requests,
    refresh: {
      clientCalls: result.refresh.clientCalls,
      serverCalls: result.refresh.serverCalls,
      succeeded: result.refresh.succeeded,
      rejected: result.refresh.rejected,
      graceReuses: result.refresh.graceReuses,
    },
    reuse: result.reuse,
    loggedOut: result.loggedOut,
    onLogoutCalls: result.onLogoutCalls,
    session: result.session,
    expectations: result.expectations,
    clientCounts: result.clientCounts,
    notes: result.notes,
    ...(result.clientOutput === undefined ? {} : { clientOutput: result.clientOutput }),
    durationMs: Math.round(requestsMs * 10) / 10,
    ...(result.timeline === undefined ? {} : { timeline: result.timeline }),
  }
}

/**
 * The burst as a scenario: sign in, expire the access token by the clock, `parallel` requests at
 * once from one tab with a pool as large as the burst (up to MAX_CONNECTIONS), and the burst's
 * expectations: the refreshes expected on both sides, no reuse unless allowed, every request
 * succeeded, still signed in, and the call bound.
 */
export function burstScenario(options: BurstOptions & { method: string; path: string }): RunnableScenario {
  const { parallel, method, path } = options
  return {
    name: 'burst',
    description: `${parallel} parallel ${method} ${path} through one client after the access token expired.`,
    level: 'must',
    storage: {},
    server: {},
    serverAsStarted: true,
    tabs: 1,
    connections: Math.min(parallel, MAX_CONNECTIONS),
    timeout: `${options.timeoutMs ?? 30_000}ms`,
    steps: [
      { do: 'signIn', user: `${options.email ?? 'demo@example.com'}:${options.password ?? 'password'}` },
      { do: 'expireByClock' },
      { do: 'parallel', count: parallel, request: { method, path } },
    ],
    expect: {
      refreshes: options.expectRefreshes ?? 1,
      ...(options.allowReuse ? {} : { noReuse: true }),
      requests: 'all-succeeded',
      signedOut: false,
      finishedInTime: false,
    },
  }
}
