import type { Command } from 'commander'
import type { ServerFlags } from '../../server/config.js'
import { formatDuration } from '../shared/duration.js'
import { collect } from './options.js'

/** commander hands the flags over as strings, exactly the shape the server's config resolves. */
type ServeCommandOptions = ServerFlags & { envFile?: string; open?: boolean }

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the mock auth server on 127.0.0.1 for your app to point at')
    .option('--port <port>', 'port to listen on; 0 picks a free one (env PORT)', undefined)
    .option('--host <host>', 'address to bind (env HOST)', undefined)
    .option('--access-ttl <duration>', 'access token lifetime, e.g. 30s, 15m (env JWT_ACCESS_EXPIRY; default 15m)')
    .option('--refresh-ttl <duration>', 'refresh token lifetime (env JWT_REFRESH_EXPIRY; default 168h)')
    .option('--session-ttl <duration>', 'absolute session lifetime from sign-in, however often it refreshes (default 30d)')
    .option('--reuse-grace <duration>', 'how long a rotated refresh token may be spent again without reuse detection (default 0s)')
    .option('--reuse-grace-count <n>', 'how many times a rotated refresh token may be spent again inside the grace (default 0: no count limit)')
    .option('--grace-returns <existing|new>', 'what a grace reuse answers: the token already issued, or a fresh one (default existing)')
    .option('--profile <simple|grit>', 'wire shape of /api/auth/* (env REFRESH_LAB_PROFILE; default simple); /oauth/* is always on')
    .option('--alg <HS256|ES256|RS256|EdDSA>', 'access token signing algorithm (default HS256)')
    .option('--key <file>', 'private key for ES256/RS256/EdDSA, PKCS#8 PEM or JWK (default: a new pair per start)')
    .option('--issuer <url>', "the tokens' iss and the discovery issuer (default: the server's URL)")
    .option('--lab-token <token>', 'require this Bearer token on /_lab/*; needed when --host is not loopback (env REFRESH_LAB_TOKEN)')
    .option('--cors <origin>', 'let a browser app at this origin call the API; repeatable (default: none)', collect)
    .option('--data-dir <dir>', 'keep sessions, keys and users here, so a restart (or kill -9) loses nothing answered')
    .option('--fsync', 'with --data-dir, flush every change to disk too (survives power loss; slower)')
    .option('--request-timeout <duration>', 'close a request whose headers and body take longer to arrive (default 30s)')
    .option('--open', 'open the live lab page in your browser')
    .option('--env-file <path>', 'read settings from this file (default: .env in the working directory, when present)')
    .option('--secret <secret>', 'HS256 signing secret (env JWT_SECRET; default: random per start)')
    .option('--user <email:password>', 'a user who can sign in; repeatable (default demo@example.com:password)', collect)
    .option('--stateless-access', 'access tokens stay valid until exp even after their session is revoked')
    .action(async (options: ServeCommandOptions) => {
      await serve(options)
    })
}

/** Starts the server, prints where and how, and stops cleanly on SIGINT or SIGTERM. */
async function serve(options: ServeCommandOptions): Promise<void> {
  const { resolveServerConfig } = await import('../../server/config.js')
  const { startServer } = await import('../../server/start.js')
  const { environmentWithEnvFile } = await import('../../server/env-file.js')
  const config = resolveServerConfig(options, environmentWithEnvFile(options.envFile))
  const server = await startServer(config)
  // Listen for signals before printing, so a signal right after the banner still closes cleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`refresh-lab: ${signal} received, closing`)
      server.close().then(resolve, resolve)
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  const users = config.users.map((u) => `${u.email} / ${u.password}`).join(', ')
  const settings = [
    `access-ttl ${formatDuration(config.accessTtlMs)}`,
    `refresh-ttl ${formatDuration(config.refreshTtlMs)}`,
    `session-ttl ${formatDuration(config.sessionTtlMs)}`,
    `reuse-grace ${formatDuration(config.reuseGraceMs)}${config.reuseGraceCount > 0 ? ` or ${config.reuseGraceCount} reuses` : ''}`,
    `profile ${config.profile}`,
    config.alg,
    config.statelessAccess ? 'stateless access tokens' : 'access tokens die with their session',
  ].join(', ')
  console.log(`refresh-lab listening on ${server.url}`)
  console.log(`user: ${users}`)
  console.log(`settings: ${settings}`)
  if (config.alg !== 'HS256') console.log(`jwks: ${server.url}/.well-known/jwks.json (kid ${(await server.lab.tokens.keys()).publicJwk?.kid ?? '?'})`)
  const pageUrl = `${server.url}/_lab/${config.labToken === undefined ? '' : `?lab_token=${encodeURIComponent(config.labToken)}`}`
  console.log(`page: ${pageUrl} (live requests, refreshes and reuse)`)
  if (options.open) openInBrowser(pageUrl)
  if (config.dataDir !== undefined) console.log(`data: ${config.dataDir}${config.fsync ? ' (fsync)' : ''}, ${server.lab.store.size.families} session(s) restored`)
  if (config.labToken !== undefined) console.log('lab API: guarded by --lab-token')
  if (config.corsOrigins.length > 0) console.log(`cors: ${config.corsOrigins.join(', ')}`)
  console.log(`lab: ${server.url}/_lab/stats, ${server.url}/_lab/events, POST ${server.url}/_lab/clock {"advance":"35s"}`)
  if (config.secretSource === 'random' && config.alg === 'HS256' && config.dataDir === undefined) {
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
