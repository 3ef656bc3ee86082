import { setTimeout as sleep } from 'node:timers/promises'
import { parseDuration } from '../../shared/duration.js'
import { ROUTES } from '../../shared/wire.js'
import { HarnessError } from '../errors.js'
import type { LabApi } from '../lab-api.js'
import { createRecordingStorage } from '../memory-storage.js'
import { BYPASS_NOTE, clientTrouble, countFailures, countReplays, outcomeOf } from '../outcomes.js'
import { RunBound } from '../run-bound.js'
import { ClientUnderTest } from '../tabs/client-under-test.js'
import type { ClientSpec } from '../tabs/client-spec.js'
import { clientSession } from '../session-state.js'
import { buildTimeline } from '../timeline.js'
import type { LoadedScenario } from './catalog.js'
import { evaluate, type RequestOutcome } from './evaluate.js'
import type { ScenarioResult } from './report.js'
import type { Scenario, ScenarioRequest, ScenarioStep } from './schema.js'

const SCENARIO_DEFAULTS = {
  accessTtl: '15m',
  refreshTtl: '168h',
  sessionTtl: '30d',
  reuseGrace: '0s',
  reuseGraceCount: 0,
  graceReturns: 'existing',
  statelessAccess: false,
} as const

export interface ScenarioRunOptions {
  url: string
  api: LabApi
  client: ClientSpec
  timeline?: boolean
}

/**
 * Runs one scenario from a fresh lab (reset, then its settings), through `tabs` clients sharing one
 * token storage, and checks its expectations. Bounded twice: by the scenario's `timeout`, and by a
 * budget of HTTP calls, so a looping or hanging client ends with a failure, never a hang.
 */
export async function runScenario(loaded: LoadedScenario, options: ScenarioRunOptions): Promise<ScenarioResult> {
  const { scenario } = loaded
  const { api } = options
  const started = performance.now()
  await api.reset()
  // A scenario means the same on any server: refresh-lab's defaults, then its own settings, whatever
  // the server was started with.
  const settings = await api.configure({ ...SCENARIO_DEFAULTS, ...scenario.server })

  const storage = createRecordingStorage({
    ...(scenario.storage.loadDelay === undefined ? {} : { loadDelayMs: parseDuration(scenario.storage.loadDelay) }),
    ...(scenario.storage.saveDelay === undefined ? {} : { saveDelayMs: parseDuration(scenario.storage.saveDelay) }),
  })
  const maxCalls = scenario.expect.maxCalls ?? defaultCallBound(scenario)
  // The tabs start and load the client before the clock runs: how long a thread takes to start is
  // no part of the client's time.
  let onLimit = () => undefined as void
  const client = await ClientUnderTest.open({
    spec: options.client,
    baseUrl: options.url,
    tabs: scenario.tabs,
    connections: 64,
    refreshPath: ROUTES.refresh,
    maxCalls,
    storage,
    onLimit: () => onLimit(),
  })
  const bound = new RunBound(parseDuration(scenario.timeout))
  onLimit = () => bound.end('CALL_LIMIT')
  /** createClient runs on the first request, after any sign-in: an app's cold start with a saved session. */
  let created: Promise<ClientUnderTest> | undefined
  const startClient = () => (created ??= client.create().then(() => client))
  /** Waits for createClient, but no longer than the run lasts: a createClient that spins is ended with it. */
  const clientReady = () => Promise.race([startClient().then(() => true), bound.ended.then(() => false)])

  const outcomes: RequestOutcome[] = []
  let nextId = 1

  const fire = async (request: ScenarioRequest, index: number): Promise<void> => {
    const id = request.id ?? `r${nextId++}`
    const tab = request.tab ?? index % scenario.tabs // the schema checks tab < tabs
    if (request.after !== undefined) await sleep(parseDuration(request.after), undefined, { signal: bound.signal }).catch(() => undefined)
    if (bound.reason !== undefined) {
      // The run is over: record the request as never sent rather than sending it now.
      outcomes.push({ id, request, ok: false, code: bound.reason })
      return
    }
    const path = request.delay === undefined ? request.path : withQuery(request.path, '_delay', request.delay)
    if (!(await clientReady())) {
      outcomes.push({ id, request, ok: false, code: bound.reason ?? 'TIMEOUT' })
      return
    }
    outcomes.push({ ...outcomeOf(id, await bound.settle(client.request(tab, id, request.method.toUpperCase(), path, request.body))), request })
  }

  const runStep = async (step: ScenarioStep): Promise<void> => {
    switch (step.do) {
      case 'signIn': {
        const [email, password] = splitUser(step.user)
        const signedIn = await api.login(email, password)
        await storage.save({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken })
        return
      }
      case 'advanceClock':
        await api.advanceClock(parseDuration(step.by))
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
        const requests = step.requests ?? Array.from({ length: step.count ?? 1 }, () => step.request ?? { method: 'GET', path: ROUTES.users })
        await Promise.all(requests.map((request, index) => fire(request, index)))
        return
      }
      case 'sequence':
        await clientReady()
        for (const [index, request] of step.requests.entries()) await fire(request, index)
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
  try {
    for (const step of scenario.steps) {
      if (bound.reason !== undefined) break
      await runStep(step)
    }
  } catch (caught) {
    // A step the server refused (a fault on /login, say) spoils this scenario only, unless the
    // server is gone altogether.
    if (caught instanceof HarnessError && caught.kind === 'unreachable') await api.stats()
    error = caught instanceof Error ? caught.message : String(caught)
  } finally {
    bound.dispose()
    await client.close()
  }

  const stats = await api.stats()
  const session = await clientSession(api, storage.current)
  const calls = client.calls
  const refreshCalls = calls.filter((call) => call.refresh)
  const succeeded = outcomes.filter((o) => o.ok).length
  const onLogoutCalls = client.onLogoutCalls
  const loggedOut = onLogoutCalls > 0 || storage.current.refreshToken === null
  const bypassed = client.bypassedFetch({ succeeded, serverRefreshes: stats.refresh.calls })
  error ??= clientTrouble(client, outcomes, bound.timeoutMs)

  const expectations = evaluate(scenario.expect, {
    clientRefreshes: bypassed ? undefined : refreshCalls.length,
    serverRefreshes: stats.refresh.calls,
    reuseDetected: stats.reuseDetected > 0,
    outcomes,
    loggedOut,
    sessionLost: loggedOut || session.state !== 'active',
    signedInState: loggedOut ? 'no, signed out' : session.state === 'active' ? 'yes' : `no, session ${session.state}`,
    onLogoutCalls,
    calls: bypassed ? undefined : calls.length + client.refused,
    maxCalls,
    timedOut: bound.reason === 'TIMEOUT',
    timeoutMs: bound.timeoutMs,
    profile: settings.profile,
  })
  const verdict = error !== undefined ? 'error' : expectations.every((e) => e.pass) ? 'pass' : 'fail'
  return {
    name: scenario.name,
    description: scenario.description,
    file: loaded.file,
    level: scenario.level,
    verdict,
    ...(error === undefined ? {} : { error }),
    requests: { total: outcomes.length, succeeded, failed: outcomes.length - succeeded, failures: countFailures(outcomes) },
    refresh: {
      clientCalls: refreshCalls.length,
      serverCalls: stats.refresh.calls,
      succeeded: stats.refresh.succeeded,
      rejected: stats.refresh.rejected,
      graceReuses: stats.refresh.graceReuses,
      faulted: stats.refresh.faulted,
    },
    reuse: { detected: stats.reuseDetected > 0, count: stats.reuseDetected, replays: countReplays(refreshCalls) },
    loggedOut,
    onLogoutCalls,
    session: session.state,
    calls: { made: calls.length, refused: client.refused },
    clientCounts: bypassed ? 'unavailable' : 'recorded',
    expectations,
    notes: bypassed ? [BYPASS_NOTE] : [],
    ...(verdict === 'pass' ? {} : client.printed()),
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    ...(options.timeline && !bypassed ? { timeline: buildTimeline(calls, new Map(outcomes.map((o) => [o.id, o.ok ? 'ok' : (o.code ?? 'ERROR')]))) } : {}),
  }
}

/** Generous enough for any correct client: four calls a request (attempt, refresh, retry, spare) and some. */
function defaultCallBound(scenario: Scenario): number {
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
