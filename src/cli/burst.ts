import { writeFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import { HarnessError } from '../harness/errors.js'
import { startEmbeddedServer } from './embedded-server.js'
import { exitAfterReport } from './exit.js'
import { parseUrl } from './lab-url.js'
import { CLIENT_HELP, wholeNumber } from './options.js'
import { COMMAND_SUMMARIES } from './summaries.js'

interface BurstCommandOptions {
  parallel: number
  client: string
  path: string
  method: string
  url?: string
  json?: boolean
  reporter: 'table' | 'json' | 'junit'
  output?: string
  expectRefreshes: number
  allowReuse?: boolean
  user?: string
  timeout: string
  timeline?: boolean
  profile?: string
  labToken?: string
}

export function registerBurst(program: Command): void {
  program
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
    .addOption(new Option('--reporter <kind>', 'table, json or junit').choices(['table', 'json', 'junit']).default('table'))
    .option('--output <file>', 'write the json or junit report to this file; the table still goes to stdout')
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
  const [{ runBurst }, { formatBurstReport }, { resolveClientSpec }, { burstToJUnit }] = await Promise.all([
    import('../harness/burst.js'),
    import('../harness/burst-report.js'),
    import('../harness/tabs/client-spec.js'),
    import('../harness/junit.js'),
  ])
  const reporter = pickReporter(options)
  if (options.output !== undefined)
    await writeFile(options.output, '').catch((error: NodeJS.ErrnoException) => {
      throw new HarnessError('usage', `--output: cannot write ${options.output} (${error.code ?? error.message})`)
    })
  resolveClientSpec(options.client) // a wrong --client is one line before any server starts
  const credentials = parseUser(options.user)
  const timeoutMs = parseTimeout(options.timeout)
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
      timeline: options.timeline === true,
      ...credentials,
    })
    const rendered = reporter === 'json' ? JSON.stringify(report, null, 2) : reporter === 'junit' ? burstToJUnit(report) : undefined
    if (options.output !== undefined && rendered !== undefined) await writeFile(options.output, rendered)
    console.log(rendered === undefined || options.output !== undefined ? formatBurstReport(report) : rendered)
    return report.verdict === 'pass' ? 0 : 1
  } finally {
    await server?.close(0) // the run is over: nothing in flight matters now
  }
}

/** `--json` is `--reporter json`; `--output` needs a file format. */
function pickReporter(options: BurstCommandOptions): 'table' | 'json' | 'junit' {
  if (options.json && options.reporter !== 'table' && options.reporter !== 'json') {
    throw new HarnessError('usage', `--json and --reporter ${options.reporter} ask for two different reports; give one`)
  }
  const reporter = options.json ? 'json' : options.reporter
  if (options.output !== undefined && reporter === 'table') {
    throw new HarnessError('usage', '--output writes the json or junit report; add --reporter json or --reporter junit')
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
