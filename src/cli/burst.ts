import type { Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import { HarnessError } from '../harness/errors.js'
import { startEmbeddedServer } from './embedded-server.js'
import { parseUrl } from './lab-url.js'
import { CLIENT_HELP, wholeNumber } from './options.js'

interface BurstCommandOptions {
  parallel: number
  client: string
  path: string
  method: string
  url?: string
  json?: boolean
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
    .description('fire N parallel authed requests after the access token expired; pass only if exactly one /refresh happened')
    .option('--parallel <n>', 'requests to fire at once', wholeNumber(1, 100_000), 10)
    .option('--client <name|path|exec:cmd>', CLIENT_HELP, 'reference')
    .option('--path <path>', 'authed path to request', '/api/users')
    .option('--method <method>', 'HTTP method of the requests', 'GET')
    .option('--url <url>', 'a running `refresh-lab serve` (default: start one in-process)')
    .option('--profile <simple|grit>', 'wire profile of the in-process server (with --url, the server decides)')
    .option('--lab-token <token>', 'the lab token of the server at --url (env REFRESH_LAB_TOKEN)')
    .option('--json', 'print the report as one JSON object (schema refresh-lab/burst@1)')
    .option('--expect-refreshes <n>', 'refresh calls the run must see', wholeNumber(0, 1_000_000), 1)
    .option('--allow-reuse', 'do not fail when a rotated refresh token is reused')
    .option('--user <email:password>', 'who to sign in as (default demo@example.com:password)')
    .option('--timeout <duration>', 'upper bound for the burst; calls still in flight then are aborted', '30s')
    .option('--timeline', 'show, per request, the first attempt, the 401, the refresh it sent or waited on, and the retry')
    .action(async (options: BurstCommandOptions) => {
      process.exitCode = await burst(options)
    })
}

/** Runs one burst and prints its report; resolves with the exit code (0 pass, 1 fail). */
async function burst(options: BurstCommandOptions): Promise<number> {
  const [{ runBurst }, { formatBurstReport }, { resolveClientSpec }] = await Promise.all([
    import('../harness/burst.js'),
    import('../harness/burst-report.js'),
    import('../harness/tabs/client-spec.js'),
  ])
  resolveClientSpec(options.client) // a wrong --client is one line before any server starts
  const credentials = parseUser(options.user)
  const timeoutMs = parseTimeout(options.timeout)
  const server = options.url === undefined ? await startEmbeddedServer(options.profile === undefined ? {} : { profile: options.profile }) : undefined
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
    console.log(options.json ? JSON.stringify(report, null, 2) : formatBurstReport(report))
    return report.verdict === 'pass' ? 0 : 1
  } finally {
    await server?.close()
  }
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
