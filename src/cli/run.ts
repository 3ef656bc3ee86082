import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { HarnessError } from '../harness/errors.js'
import type { RunReport } from '../harness/scenario/report.js'
import { startEmbeddedServer } from './embedded-server.js'
import { exitAfterReport } from './exit.js'
import { parseUrl } from './lab-url.js'
import { addReportOptions, CLIENT_HELP, checkWritable, wholeNumber } from './options.js'
import { COMMAND_SUMMARIES } from './summaries.js'

interface RunOptions {
  client: string
  url?: string
  json?: boolean
  reporter: 'table' | 'json' | 'junit' | 'html'
  output?: string
  html?: string
  timeline?: boolean
  strict?: boolean
  profile?: string
  labToken?: string
  concurrency?: number
}

/**
 * Scenarios run at once with the in-process servers. Most of a scenario is waiting on real time
 * (delays, proactive timers), so four at once take about a quarter of the time on two cores.
 */
const EMBEDDED_CONCURRENCY = 4

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(COMMAND_SUMMARIES.run)
    .argument('[scenarios...]', 'built-in scenario names (burst, late-401, …) or scenario files (./my-case.json)')
    .option('--client <name|path|exec:cmd>', CLIENT_HELP, 'reference')
    .option('--url <url>', 'a running `refresh-lab serve`; each scenario resets it (default: start one in-process)')
    .option('--profile <simple|grit|supabase>', 'wire profile of the in-process server (with --url, the server decides)')
    .option('--lab-token <token>', 'the lab token of the server at --url (env REFRESH_LAB_TOKEN)')
    .option('--json', 'print the report as JSON (schema refresh-lab/run@1); same as --reporter json')
  addReportOptions(command)
    .option('--timeline', 'show, per request, the first attempt, the 401, the refresh it sent or waited on, and the retry')
    .option('--strict', 'fail the run on a failed should-level scenario too (e.g. two-tabs-strict)')
    .option(
      '--concurrency <n>',
      `scenarios run at once, each on its own in-process server (default ${EMBEDDED_CONCURRENCY}; with --url, 1: every scenario resets that server)`,
      wholeNumber(1, 16),
    )
    .action(async (scenarios: string[], options: RunOptions) => {
      await exitAfterReport(await run(scenarios, options))
    })
}

async function run(specs: string[], options: RunOptions): Promise<number> {
  const [
    { resolveClientSpec },
    { resolveScenarios },
    { runScenarios },
    { formatRunReport },
    { toJUnit },
    { formatTimeline },
    { runToHtml },
  ] = await Promise.all([
    import('../harness/tabs/client-spec.js'),
    import('../harness/scenario/catalog.js'),
    import('../harness/scenario/run-scenarios.js'),
    import('../harness/scenario/report.js'),
    import('../harness/junit.js'),
    import('../harness/timeline.js'),
    import('../harness/html-report.js'),
  ])
  if (options.json && options.reporter !== 'table' && options.reporter !== 'json') {
    throw new HarnessError('usage', `--json and --reporter ${options.reporter} ask for two different reports; give one`)
  }
  const reporter = options.json ? 'json' : options.reporter
  if (options.output !== undefined && reporter === 'table') {
    throw new HarnessError('usage', '--output writes the json, junit or html report; add --reporter json, junit or html')
  }
  if (options.timeline && reporter !== 'table' && options.output === undefined) {
    throw new HarnessError('usage', '--timeline is drawn under the table; with --reporter json, junit or html, also give --output FILE')
  }
  await checkWritable('--output', options.output)
  await checkWritable('--html', options.html)
  const html = reporter === 'html' || options.html !== undefined
  resolveClientSpec(options.client) // a wrong --client is one line before any server starts
  const scenarios = await resolveScenarios(specs)
  const url = options.url === undefined ? undefined : parseUrl(options.url)
  if (url !== undefined && options.concurrency !== undefined && options.concurrency > 1) {
    throw new HarnessError(
      'usage',
      '--concurrency runs scenarios on in-process servers; with --url every scenario resets that one server, so they run one at a time',
    )
  }
  const lanes = url === undefined ? Math.min(options.concurrency ?? EMBEDDED_CONCURRENCY, Math.max(1, scenarios.length)) : 0
  const servers = await Promise.all(
    Array.from({ length: lanes }, () => startEmbeddedServer(options.profile === undefined ? {} : { profile: options.profile })),
  )
  const [server, ...moreServers] = servers
  try {
    const report = await runScenarios({
      url: server?.url ?? (url as string),
      moreUrls: moreServers.map((more) => more.url),
      embedded: server !== undefined,
      ...(options.labToken === undefined ? {} : { labToken: options.labToken }),
      client: options.client,
      scenarios,
      strict: options.strict === true,
      // The HTML report draws the timeline: record which request each call was made for.
      timeline: options.timeline === true || html,
    })
    // Recorded for the HTML report: in the JSON only when asked for with --timeline.
    const shown: RunReport = options.timeline
      ? report
      : { ...report, scenarios: report.scenarios.map(({ timeline: _drawn, ...rest }) => rest) }
    const rendered =
      reporter === 'json'
        ? JSON.stringify(shown, null, 2)
        : reporter === 'junit'
          ? toJUnit(report)
          : reporter === 'html'
            ? runToHtml(report)
            : undefined
    if (options.output !== undefined && rendered !== undefined) await writeFile(options.output, rendered)
    if (options.html !== undefined) await writeFile(options.html, reporter === 'html' ? (rendered as string) : runToHtml(report))
    if (rendered === undefined || options.output !== undefined) {
      console.log(formatRunReport(report))
      if (options.timeline) {
        for (const result of report.scenarios) if (result.timeline) console.log(`\n${result.name}\n${formatTimeline(result.timeline)}`)
      }
    } else {
      console.log(rendered)
    }
    return report.verdict === 'pass' ? 0 : 1
  } finally {
    await Promise.all(servers.map((running) => running.close(0))) // the run is over: nothing in flight matters now
  }
}
