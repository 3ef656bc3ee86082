import { setTimeout as sleep } from 'node:timers/promises'
import { parseDuration } from '../../shared/duration.js'
import { liveDefaults } from '../../shared/settings.js'
import { ROUTES, type LabStats } from '../../shared/wire.js'
import { HarnessError } from '../errors.js'
import type { LabApi } from '../lab-api.js'
import { createRecordingStorage } from '../memory-storage.js'
import { BYPASS_NOTE, clientTrouble, countFailures, countReplays, outcomeOf } from '../outcomes.js'
import { RunBound } from '../run-bound.js'
import { ClientUnderTest } from '../tabs/client-under-test.js'
import type { ClientSpec } from '../tabs/client-spec.js'
import { clientSession, describeSignedIn } from '../session-state.js'
import { buildTimeline } from '../timeline.js'
import { evaluate, type RequestOutcome, type RunExpectations } from './evaluate.js'
import type { ScenarioResult } from './report.js'
import type { Scenario, ScenarioRequest, ScenarioStep } from './schema.js'

const SCENARIO_DEFAULTS = liveDefaults()

/** A step no scenario file spells, for the scenarios the harness builds itself (burst). */
export type RunStep = ScenarioStep | { do: 'expireByClock' }

/**
 * A scenario as the runner takes it: one loaded from a file, or one the harness builds (burst),
 * which may also size each tab's connection pool and run on the server as it was started.
 */
export interface RunnableScenario extends Omit<Scenario, 'steps' | 'expect'> {
  steps: RunStep[]
  expect: RunExpectations
  /** Connections each tab may keep open; default 64. */
  connections?: number
  /**
   * No reset and none of refresh-lab's defaults: a burst measures the server it is pointed at (its
   * `--reuse-grace`, say). The counts are still this run's alone.
   */
  serverAsStarted?: true
}

export interface ScenarioRunOptions {
  url: string
  api: LabApi
  client: ClientSpec
  timeline?: boolean
  /**
   * The scenario is the whole run (a burst): no preflight checked the client and no scenario
   * follows, so a step the server refuses, or a createClient that throws or does not return in
   * time, is thrown (exit 2, or 3 without a server) rather than made this scenario's `error` verdict.
   */
  alone?: boolean
}

export interface ScenarioRun {
  /** Never `non-strict`: that is the suite's call (run-scenarios.ts). */
  result: ScenarioResult & { verdict: 'pass' | 'fail' | 'error' }
  /** From createClient's return to the tabs' end, 0 when it never ran: the time a burst reports. */
  requestsMs: number
}

/**
 * Runs one scenario from a fresh lab (reset, then its settings), or on the server as it was started
 * (a burst), through `tabs` clients sharing one token storage, and checks its expectations. Bounded twice: by the scenario's `timeout`, and by a
 * budget of HTTP calls, so a looping or hanging client ends with a failure, never a hang.
 */
export async function runScenario(loaded: { scenario: RunnableScenario; file: string }, options: ScenarioRunOptions): Promise<ScenarioRun> {
  const { scenario } = loaded
  const { api } = options
  const started = performance.now()
  const fresh = scenario.serverAsStarted !== true
  if (fresh) await api.reset()
  // A scenario means the same on any server: refresh-lab's defaults, then its own settings, whatever
  // the server was started with.
  const settings = fresh ? await api.configure({ ...SCENARIO_DEFAULTS, ...scenario.server }) : undefined
  // A reset server counts from zero; one as started has counted other runs before this one.
  const before = fresh ? undefined : await api.stats()

  const storage = createRecordingStorage({
    ...(scenario.storage.loadDelay === undefined ? {} : { loadDelayMs: parseDuration(scenario.storage.loadDelay) }),
    ...(scenario.storage.saveDelay === undefined ? {} : { saveDelayMs: parseDuration(scenario.storage.saveDelay) }),
  })
  const maxCalls = scenario.expect.maxCalls ?? defaultCallBound(scenario)
  // The tabs start and load the client before the clock runs: how long a thread takes to start is
  // no part of the client's time.
  let onLimit: () => void = () => undefined
  const client = await ClientUnderTest.open({
    spec: options.client,
    baseUrl: options.url,
    tabs: scenario.tabs,
    connections: scenario.connections ?? 64,
    refreshPath: ROUTES.refresh,
    maxCalls,
    storage,
    onLimit: () => onLimit(),
    // Only the timeline reads which request a call was made for.
    tagRequests: options.timeline === true,
  })
  const bound = new RunBound(parseDuration(scenario.timeout))
  onLimit = () => bound.end('CALL_LIMIT')
  /** createClient runs on the first request, after any sign-in: an app's cold start with a saved session. */
  let created: Promise<ClientUnderTest> | undefined
  let createdAt: number | undefined
  const startClient = () => {
    created ??= client.create().then(() => {
      createdAt = performance.now()
      return client
    })
    return created
  }
  /** Waits for createClient, but no longer than the run lasts: a createClient that spins is ended with it. */
  const clientReady = async (): Promise<boolean> => {
    const ready = await Promise.race([startClient().then(() => true), bound.ended.then(() => false)])
    if (!ready && options.alone === true)
      throw new HarnessError('usage', `client ${options.client.name}: createClient(ctx) did not return within ${bound.timeoutMs / 1000}s`)
    return ready
  }

  const outcomes: RequestOutcome[] = []
  let nextId = 1
  /** How long the last sign-in's access token had to live, by the lab clock. */
  let accessExpiresInMs = 0

  const fire = async (request: ScenarioRequest, index: number): Promise<RequestOutcome> => {
    const id = request.id ?? `r${nextId++}`
    const tab = request.tab ?? index % scenario.tabs // the schema checks tab < tabs
    if (request.after !== undefined) await sleep(parseDuration(request.after), undefined, { signal: bound.signal }).catch(() => undefined)
    // The run is over: record the request as never sent rather than sending it now.
    if (bound.reason !== undefined) return { id, request, ok: false, code: bound.reason }
    const waiting = request.waitFor === undefined ? request.path : withQuery(request.path, '_wait', request.waitFor)
    const path = request.delay === undefined ? waiting : withQuery(waiting, '_delay', request.delay)
    if (!(await clientReady())) return { id, request, ok: false, code: bound.reason ?? 'TIMEOUT' }
    return { ...outcomeOf(id, await bound.settle(client.request(tab, id, request.method.toUpperCase(), path, request.body))), request }
  }

  const runStep = async (step: RunStep): Promise<void> => {
    switch (step.do) {
      case 'signIn': {
        const [email, password] = splitUser(step.user)
        const signedIn = await api.login(email, password)
        await storage.save({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken })
        accessExpiresInMs = Math.max(0, signedIn.expiresInMs)
        return
      }
      case 'advanceClock':
        await api.advanceClock(parseDuration(step.by))
        return
      case 'expireByClock':
        // A second past the access token's expiry by the lab clock, so every request gets a 401.
        await api.advanceClock(accessExpiresInMs + 1000)
        return
      case 'expire':
        await api.expire({ tokens: step.tokens })
        return
      case 'fault': {
        const { do: _, ...spec } = step
        await api.fault(spec)
        return
      }
      case 'configure': {
        const { do: _, ...settings } = step
        await api.configure(settings)
        return
      }
      case 'parallel': {
        await clientReady()
        const requests =
          step.requests ?? Array.from({ length: step.count ?? 1 }, () => step.request ?? { method: 'GET', path: ROUTES.users })
        // In the order they were sent, not the order they ended, so a report reads the same each time.
        for (const outcome of await Promise.all(requests.map((request, index) => fire(request, index)))) outcomes.push(outcome)
        return
      }
      case 'sequence':
        await clientReady()
        for (const [index, request] of step.requests.entries()) outcomes.push(await fire(request, index))
        return
      case 'revoke':
        await api.revoke()
        return
      case 'logout': {
        const { accessToken } = storage.current
        if (accessToken === null) throw new HarnessError('usage', `${loaded.file}: "logout" needs a signed-in client`)
        await api.logout(accessToken)
        return
      }
    }
  }

  let error: string | undefined
  let ended: number
  try {
    for (const step of scenario.steps) {
      if (bound.reason !== undefined) break
      await runStep(step)
    }
  } catch (caught) {
    // Alone, the run has no verdict to give: the step's error is the run's.
    if (options.alone === true) throw caught
    // A step the server refused (a fault on /login, say) spoils this scenario only, unless the
    // server is gone altogether.
    if (caught instanceof HarnessError && caught.kind === 'unreachable') await api.stats()
    error = caught instanceof Error ? caught.message : String(caught)
  } finally {
    bound.dispose()
    await client.close()
    ended = performance.now()
  }

  const server = counted(before, await api.stats())
  const session = await clientSession(api, storage.current)
  const calls = client.calls
  const refreshCalls = calls.filter((call) => call.refresh)
  const replays = countReplays(refreshCalls)
  const succeeded = outcomes.filter((o) => o.ok).length
  const onLogoutCalls = client.onLogoutCalls
  const loggedOut = onLogoutCalls > 0 || storage.current.refreshToken === null
  const bypassed = client.bypassedFetch({ succeeded, serverRefreshes: server.calls })
  error ??= clientTrouble(client, outcomes, bound.timeoutMs)
  // Named endings are refresh-lab's own codes, which the server's profile may spell differently;
  // with none named, no code is compared and 'simple' (refresh-lab's own) stands in.
  const profile = settings?.profile ?? (typeof scenario.expect.requests === 'object' ? (await api.config()).profile : 'simple')

  const expectations = evaluate(scenario.expect, {
    clientRefreshes: bypassed ? undefined : refreshCalls.length,
    serverRefreshes: server.calls,
    reuseDetected: server.reuseDetected > 0,
    reuses: server.reuseDetected,
    replays: bypassed ? undefined : replays,
    outcomes,
    loggedOut,
    sessionLost: loggedOut || session.state !== 'active',
    signedInState: describeSignedIn(loggedOut, session),
    onLogoutCalls,
    calls: bypassed ? undefined : calls.length + client.refused,
    maxCalls,
    timedOut: bound.reason === 'TIMEOUT',
    timeoutMs: bound.timeoutMs,
    profile,
  })
  const verdict = error !== undefined ? 'error' : expectations.every((e) => e.pass) ? 'pass' : 'fail'
  const result = {
    name: scenario.name,
    description: scenario.description,
    file: loaded.file,
    level: scenario.level,
    verdict,
    ...(error === undefined ? {} : { error }),
    requests: { total: outcomes.length, succeeded, failed: outcomes.length - succeeded, failures: countFailures(outcomes) },
    refresh: {
      clientCalls: refreshCalls.length,
      serverCalls: server.calls,
      succeeded: server.succeeded,
      rejected: server.rejected,
      graceReuses: server.graceReuses,
      faulted: server.faulted,
    },
    reuse: { detected: server.reuseDetected > 0, count: server.reuseDetected, replays },
    loggedOut,
    onLogoutCalls,
    session: session.state,
    calls: { made: calls.length, refused: client.refused },
    clientCounts: bypassed ? 'unavailable' : 'recorded',
    expectations,
    notes: bypassed ? [BYPASS_NOTE] : [],
    ...(verdict === 'pass' ? {} : client.printed()),
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    ...(options.timeline && !bypassed
      ? { timeline: buildTimeline(calls, new Map(outcomes.map((o) => [o.id, o.ok ? 'ok' : (o.code ?? 'ERROR')]))) }
      : {}),
  } satisfies ScenarioResult
  return { result, requestsMs: createdAt === undefined ? 0 : ended - createdAt }
}

/** What the server counted during this run: everything after a reset, what changed since `before` otherwise. */
function counted(before: LabStats | undefined, after: LabStats) {
  const change = (read: (stats: LabStats) => number) => read(after) - (before === undefined ? 0 : read(before))
  return {
    calls: change((s) => s.refresh.calls),
    succeeded: change((s) => s.refresh.succeeded),
    rejected: change((s) => s.refresh.rejected),
    graceReuses: change((s) => s.refresh.graceReuses),
    faulted: change((s) => s.refresh.faulted),
    reuseDetected: change((s) => s.reuseDetected),
  }
}

/** Generous enough for any correct client: four calls a request (attempt, refresh, retry, spare) and some. */
function defaultCallBound(scenario: RunnableScenario): number {
  const requests = scenario.steps.reduce((sum, step) => {
    if (step.do === 'parallel') return sum + (step.requests?.length ?? step.count ?? 1)
    if (step.do === 'sequence') return sum + step.requests.length
    return sum
  }, 0)
  return requests * scenario.tabs * 4 + 10
}

function splitUser(spec: string | undefined): [string, string] {
  if (spec === undefined) return ['demo@example.com', 'password']
  const colon = spec.indexOf(':')
  return [spec.slice(0, colon), spec.slice(colon + 1)]
}

function withQuery(path: string, name: string, value: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`
}
