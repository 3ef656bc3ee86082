import type { CreateClient } from '../../client/contract.js'
import { HarnessError } from '../errors.js'
import { LabApi } from '../lab-api.js'
import { createRecordingStorage } from '../memory-storage.js'
import { ClientUnderTest } from '../tabs/client-under-test.js'
import { resolveClientSpec, type ClientSpec } from '../tabs/client-spec.js'
import { ROUTES } from '../../shared/wire.js'
import type { LoadedScenario } from './catalog.js'
import { RUN_SCHEMA, type RunReport, type ScenarioResult } from './report.js'
import { runScenario } from './runner.js'

export interface RunScenariosOptions {
  /** A running refresh-lab server; every scenario resets it first. */
  url: string
  /**
   * More servers of the same kind (same profile, same lab token) to run scenarios on at the same
   * time: each server runs one scenario at a time, so `n` servers run `n` at once. A scenario
   * resets its server, so two never share one.
   */
  moreUrls?: readonly string[]
  /** Its lab token, when it was started with one (default: REFRESH_LAB_TOKEN). */
  labToken?: string
  embedded?: boolean
  /**
   * The client: a built-in name (`reference`, `naive`, …), a module path (`./my-client.ts`) or
   * `exec:<command>`, each tab isolated in its own thread or process (docs/clients.md).
   */
  client?: string
  /** Or a `createClient` function, run in this thread: not isolated from the caller. */
  createClient?: CreateClient
  /** The client's name in the report (default: `client`). */
  clientName?: string
  scenarios: readonly LoadedScenario[]
  /** Fail the run on a failed `should` scenario too. */
  strict?: boolean
  timeline?: boolean
  /** Called after each scenario, e.g. to print progress. */
  onResult?: (result: ScenarioResult) => void
}

/**
 * Runs scenarios against one client, one at a time on each server (`url`, then `moreUrls`), and
 * collects the `refresh-lab/run@1` report with the scenarios in the order given.
 *
 * @example
 * const report = await runScenarios({ url, client: './my-client.ts', scenarios: await resolveScenarios([]) })
 */
export async function runScenarios(options: RunScenariosOptions): Promise<RunReport> {
  const url = options.url.replace(/\/+$/, '')
  const lanes = [url, ...(options.moreUrls ?? []).map((more) => more.replace(/\/+$/, ''))].map((laneUrl) => ({
    url: laneUrl,
    api: new LabApi(laneUrl, options.labToken),
  }))
  const api = (lanes[0] as (typeof lanes)[number]).api
  const started = performance.now()
  const results: ScenarioResult[] = []
  const source = options.client ?? options.createClient
  if (source === undefined)
    throw new HarnessError('usage', 'runScenarios needs a client: a name, a module path, exec:<command> or createClient')
  const client = resolveClientSpec(source, options.clientName === undefined ? {} : { name: options.clientName })
  try {
    await preflight(client, url, api)
    // Each lane takes the next scenario when its last one ends: the longest ones never wait in line.
    const queue = options.scenarios.map((loaded, index) => ({ loaded, index }))
    const ended = await Promise.allSettled(
      lanes.map(async (lane) => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          try {
            const ran = (await runScenario(next.loaded, { url: lane.url, api: lane.api, client, timeline: options.timeline === true }))
              .result
            const result: ScenarioResult =
              ran.verdict === 'fail' && ran.level === 'should' && options.strict !== true ? { ...ran, verdict: 'non-strict' } : ran
            results[next.index] = result
            options.onResult?.(result)
          } catch (error) {
            queue.length = 0 // a server gone or a usage error ends the run: the other lanes finish what they started
            throw error
          }
        }
      }),
    )
    const failure = ended.find((lane) => lane.status === 'rejected')
    if (failure) throw failure.reason
  } finally {
    await Promise.all(lanes.map((lane) => lane.api.close()))
  }
  const passed = results.filter((r) => r.verdict === 'pass').length
  const nonStrict = results.filter((r) => r.verdict === 'non-strict').length
  const failed = results.length - passed - nonStrict
  return {
    schema: RUN_SCHEMA,
    verdict: failed === 0 ? 'pass' : 'fail',
    client: client.name,
    url,
    embedded: options.embedded ?? false,
    strict: options.strict === true,
    summary: { total: results.length, passed, failed, nonStrict },
    scenarios: results,
    durationMs: Math.round(performance.now() - started),
  }
}

/**
 * Loads the client once, signed in, before any scenario runs: a module that does not load, does not
 * export createClient, throws in it, or a command that is not found or exits at once, is one usage
 * error (exit 2) rather than twelve failed scenarios.
 */
async function preflight(client: ClientSpec, url: string, api: LabApi): Promise<void> {
  await api.reset()
  const signedIn = await api.login('demo@example.com', 'password')
  const storage = createRecordingStorage()
  await storage.save({ accessToken: signedIn.accessToken, refreshToken: signedIn.refreshToken })
  const probe = await ClientUnderTest.open({
    spec: client,
    baseUrl: url,
    tabs: 1,
    connections: 1,
    refreshPath: ROUTES.refresh,
    maxCalls: 100,
    storage,
    onLimit: () => undefined,
  })
  try {
    await probe.create()
  } finally {
    await probe.close()
  }
}
