import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import type { BurstReport } from '../harness/burst-report.js'
import { HarnessError } from '../harness/errors.js'
import { startEmbeddedServer } from './embedded-server.js'
import { exitAfterReport } from './exit.js'
import { parseUrl } from './lab-url.js'
import { addReportOptions, CLIENT_HELP, checkWritable, wholeNumber } from './options.js'
import { COMMAND_SUMMARIES } from './summaries.js'

interface BurstCommandOptions {
  parallel: number
  client: string
  path: string
  method: string
  url?: string
  json?: boolean
  reporter: 'table' | 'json' | 'junit' | 'html'
  output?: string
  html?: string
  expectRefreshes: number
  allowReuse?: boolean
  user?: string
  timeout: string
  timeline?: boolean
  profile?: string
  labToken?: string
}

export function registerBurst(program: Command): void {
  const command = program
    .command('burst')
    .description(COMMAND_SUMMARIES.burst)
    .option('--parallel <n>', 'requests to fire at once', wholeNumber(1, 100_000), 10)
    .option('--client <name|path|exec:cmd>', CLIENT_HELP, 'reference')
    .option('--path <path>', 'authed path to request', '/api/users')
    .option('--method <method>', 'HTTP method of the requests', 'GET')
    .option('--url <url>', 'a running `refresh-lab serve` (default: start one in-process)')
    .option('--profile <simple|grit|supabase>', 'wire profile of the in-process server (with --url, the server decides)')
    .option('--lab-token <token>', 'the lab token of the server at --url (env REFRESH_LAB_TOKEN)')
    .option('--json', 'print the report as one JSON object (schema refresh-lab/burst@1); same as --reporter json')
  addReportOptions(command)
    .option('--expect-refreshes <n>', 'refresh calls the run must see', wholeNumber(0, 1_000_000), 1)
    .option('--allow-reuse', 'do not fail when a rotated refresh token is reused')
    .option('--user <email:password>', 'who to sign in as (default demo@example.com:password)')
    .option('--timeout <duration>', 'upper bound for the burst; calls still in flight then are aborted', '30s')
    .option('--timeline', 'show, per request, the first attempt, the 401, the refresh it sent or waited on, and the retry')
    .action(async (options: BurstCommandOptions) => {
      await exitAfterReport(await burst(options))
    })
}

/** Runs one burst and prints its report; resolves with the exit code (0 pass, 1 fail). */
async function burst(options: BurstCommandOptions): Promise<number> {
  const [{ runBurst }, { formatBurstReport }, { resolveClientSpec }, { burstToJUnit }, { burstToHtml }, { prewarmTabWorker }] =
    await Promise.all([
      import('../harness/burst.js'),
      import('../harness/burst-report.js'),
      import('../harness/tabs/client-spec.js'),
      import('../harness/junit.js'),
      import('../harness/html-report.js'),
      import('../harness/tabs/worker-tab.js'),
    ])
  const reporter = pickReporter(options)
  await checkWritable('--output', options.output)
  await checkWritable('--html', options.html)
  const html = reporter === 'html' || options.html !== undefined
  const { kind } = resolveClientSpec(options.client) // a wrong --client is one line before any server starts
  const credentials = parseUser(options.user)
  const timeoutMs = parseTimeout(options.timeout)
  // Every option checked: the client's thread loads on the other core while the server starts (issue 14).
  if (kind === 'built-in' || kind === 'module') prewarmTabWorker()
  const server =
    options.url === undefined ? await startEmbeddedServer(options.profile === undefined ? {} : { profile: options.profile }) : undefined
  try {
    const report = await runBurst({
      url: server?.url ?? parseUrl(options.url as string),
      embedded: server !== undefined,
      ...(options.labToken === undefined ? {} : { labToken: options.labToken }),
      client: options.client,
      parallel: options.parallel,
      method: options.method,
      path: options.path,
      expectRefreshes: options.expectRefreshes,
      allowReuse: options.allowReuse === true,
      timeoutMs,
      // The HTML report draws the timeline: record which request each call was made for.
      timeline: options.timeline === true || html,
      ...credentials,
    })
    // Recorded for the HTML report: shown elsewhere only when asked for with --timeline.
    const { timeline: _drawn, ...withoutTimeline } = report
    const shown: BurstReport = options.timeline ? report : withoutTimeline
    const rendered =
      reporter === 'json'
        ? JSON.stringify(shown, null, 2)
        : reporter === 'junit'
          ? burstToJUnit(shown)
          : reporter === 'html'
            ? burstToHtml(report)
            : undefined
    if (options.output !== undefined && rendered !== undefined) await writeFile(options.output, rendered)
    if (options.html !== undefined) await writeFile(options.html, reporter === 'html' ? (rendered as string) : burstToHtml(report))
    console.log(rendered === undefined || options.output !== undefined ? formatBurstReport(shown) : rendered)
    return report.verdict === 'pass' ? 0 : 1
  } finally {
    await server?.close(0) // the run is over: nothing in flight matters now
  }
}

/** `--json` is `--reporter json`; `--output` needs a file format. */
function pickReporter(options: BurstCommandOptions): 'table' | 'json' | 'junit' | 'html' {
  if (options.json && options.reporter !== 'table' && options.reporter !== 'json') {
    throw new HarnessError('usage', `--json and --reporter ${options.reporter} ask for two different reports; give one`)
  }
  const reporter = options.json ? 'json' : options.reporter
  if (options.output !== undefined && reporter === 'table') {
    throw new HarnessError('usage', '--output writes the json, junit or html report; add --reporter json, junit or html')
  }
  return reporter
}

function parseUser(spec: string | undefined): { email?: string; password?: string } {
  if (spec === undefined) return {}
  const colon = spec.indexOf(':')
  if (colon < 1 || colon === spec.length - 1) throw new HarnessError('usage', `--user must be email:password, got "${spec}"`)
  return { email: spec.slice(0, colon), password: spec.slice(colon + 1) }
}

function parseTimeout(text: string): number {
  try {
    const ms = parseDuration(text)
    if (ms > 0) return ms
  } catch {
    // reported below
  }
  throw new HarnessError('usage', `--timeout must be a duration such as 30s, got "${text}"`)
}
