import type { Command } from 'commander'
import { formatDuration } from '../shared/duration.js'
import { watchParent } from './parent-watch.js'
import { addServeOptions, resolveServeConfig, type ServeCommandOptions, writePortFile } from './serve-options.js'
import { COMMAND_SUMMARIES } from './summaries.js'

type ServeOptions = ServeCommandOptions & { open?: boolean; exitWithParent?: boolean }

export function registerServe(program: Command): void {
  const command = program.command('serve').description(COMMAND_SUMMARIES.serve)
  // Every setting's flag comes from the one list in src/shared/settings.ts.
  addServeOptions(command)
    .option('--open', 'open the live lab page in your browser')
    // A process flag, not a setting: startLab runs in the caller's process and has no parent to outlive.
    .option('--exit-with-parent', 'exit when the process that started serve dies (for `serve &` in scripts and CI)')
    .action(async (options: ServeOptions) => {
      await serve(options)
    })
}

/** Starts the server, prints where and how, and stops cleanly on SIGINT or SIGTERM. */
async function serve(options: ServeOptions): Promise<void> {
  const config = await resolveServeConfig(options)
  const { startServer } = await import('../../server/start.js')
  const server = await startServer(config)
  if (options.portFile !== undefined) {
    await writePortFile(options.portFile, server.port).catch(async (error: unknown) => {
      await server.close()
      throw error
    })
  }
  // Listen for signals before printing, so a signal right after the banner still closes cleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (reason: string) => {
      console.log(`refresh-lab: ${reason}, closing`)
      server.close().then(resolve, resolve)
    }
    process.once('SIGINT', () => stop('SIGINT received'))
    process.once('SIGTERM', () => stop('SIGTERM received'))
    if (options.exitWithParent) {
      watchParent((why) => {
        // The parent may have held our stdout: a write to its closed pipe must not end the close early.
        for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined)
        stop(`--exit-with-parent: ${why}`)
      })
    }
  })
  const users = config.users.map((u) => `${u.email} / ${u.password}`).join(', ')
  const settings = [
    `access-ttl ${formatDuration(config.accessTtlMs)}`,
    `refresh-ttl ${formatDuration(config.refreshTtlMs)}`,
    `session-ttl ${formatDuration(config.sessionTtlMs)}`,
    `reuse-grace ${formatDuration(config.reuseGraceMs)}${config.reuseGraceCount > 0 ? ` or ${config.reuseGraceCount} reuses` : ''}${
      config.reuseGraceMs > 0 || config.reuseGraceCount > 0 ? ` (returns ${config.graceReturns})` : ''
    }`,
    `profile ${config.profile}`,
    config.alg,
    config.statelessAccess ? 'stateless access tokens' : 'access tokens die with their session',
  ].join(', ')
  console.log(`refresh-lab listening on ${server.url}`)
  console.log(`user: ${users}`)
  console.log(`settings: ${settings}`)
  if (config.alg !== 'HS256')
    console.log(`jwks: ${server.url}/.well-known/jwks.json (kid ${(await server.lab.tokens.keys()).publicJwk?.kid ?? '?'})`)
  const pageUrl = `${server.url}/_lab/${config.labToken === undefined ? '' : `?lab_token=${encodeURIComponent(config.labToken)}`}`
  console.log(`page: ${pageUrl} (live requests, refreshes and reuse)`)
  if (options.open) openInBrowser(pageUrl)
  if (config.dataDir !== undefined)
    console.log(
      `data: ${config.dataDir}${config.fsync ? ' (fsync)' : ''}, ${(await server.lab.store.counts()).families} session(s) restored`,
    )
  if (config.store !== 'memory') console.log(`store: ${config.store.replace(/\/\/[^@/]*@/, '//***@')} (shared by every instance on it)`)
  if (config.store !== 'memory' && config.issuer === undefined)
    console.warn(
      'warning: no --issuer with a shared --store; give every instance the same one, or an access token issued by one fails on the others',
    )
  if (config.labToken !== undefined) console.log('lab API: guarded by --lab-token')
  if (config.corsOrigins.length > 0) console.log(`cors: ${config.corsOrigins.join(', ')}`)
  if (config.profile === 'supabase') console.log(`supabase: createClient('${server.url}', 'any-key'), GoTrue at ${server.url}/auth/v1`)
  console.log(`lab: ${server.url}/_lab/stats, ${server.url}/_lab/events, POST ${server.url}/_lab/clock {"advance":"35s"}`)
  if (config.secretSource === 'random' && config.alg === 'HS256' && config.dataDir === undefined && config.store === 'memory') {
    console.warn('warning: no --secret or JWT_SECRET set; using a random secret, so tokens die with this process')
  }

  await stopped
}

/** Best effort: the platform's opener, detached; a machine without a browser just keeps the hint line. */
function openInBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  import('node:child_process')
    .then(({ spawn }) => {
      const child = spawn(opener, [url], { detached: true, stdio: 'ignore' })
      child.on('error', () => undefined)
      child.unref()
    })
    .catch(() => undefined)
}
