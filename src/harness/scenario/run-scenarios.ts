import type { CreateClient } from '../../client/contract.js'
import { LabApi } from '../lab-api.js'
import type { LoadedScenario } from './catalog.js'
import { RUN_SCHEMA, type RunReport, type ScenarioResult } from './report.js'
import { runScenario } from './runner.js'

export interface RunScenariosOptions {
  /** A running refresh-lab server; every scenario resets it first. */
  url: string
  /** Its lab token, when it was started with one (default: REFRESH_LAB_TOKEN). */
  labToken?: string
  embedded?: boolean
  createClient: CreateClient
  clientName: string
  scenarios: readonly LoadedScenario[]
  timeline?: boolean
  /** Called after each scenario, e.g. to print progress. */
  onResult?: (result: ScenarioResult) => void
}

/**
 * Runs scenarios one after another against one client and collects the `refresh-lab/run@1` report.
 *
 * @example
 * const report = await runScenarios({ url, createClient, clientName: 'mine', scenarios: await resolveScenarios([]) })
 */
export async function runScenarios(options: RunScenariosOptions): Promise<RunReport> {
  const url = options.url.replace(/\/+$/, '')
  const lab = new LabApi(url, options.labToken)
  const started = performance.now()
  const results: ScenarioResult[] = []
  try {
    for (const loaded of options.scenarios) {
      const result = await runScenario(loaded, { url, lab, createClient: options.createClient, clientName: options.clientName, timeline: options.timeline === true })
      results.push(result)
      options.onResult?.(result)
    }
  } finally {
    await lab.close()
  }
  const passed = results.filter((r) => r.verdict === 'pass').length
  return {
    schema: RUN_SCHEMA,
    verdict: passed === results.length ? 'pass' : 'fail',
    client: options.clientName,
    url,
    embedded: options.embedded ?? false,
    summary: { total: results.length, passed, failed: results.length - passed },
    scenarios: results,
    durationMs: Math.round(performance.now() - started),
  }
}
