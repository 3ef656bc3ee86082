import { type Command, Option } from 'commander'
import { ConfigError } from '../../server/config-error.js'
import type { ServerFlags } from '../../server/config.js'
import { formatDuration } from '../shared/duration.js'
import { collect } from './options.js'
import { watchParent } from './parent-watch.js'

/** commander names an option after its flag (`--user` → `user`); the settings go by their own names. */
type ServeCommandOptions = Record<string, string | string[] | boolean | undefined> & {
  env?: string
  envFile?: string
  open?: boolean
  exitWithParent?: boolean
}

type SettingsModule = typeof import('../shared/settings.js')

/**
 * Registers `serve`. Its setting flags come from the settings list, whose zod schemas take longer
 * to load than the rest of the CLI, so they are added only when `serve` is the command at hand
 * (`settings` given): the program's own help and the other commands need only its name (issue 14).
 */
export function registerServe(program: Command, settings?: SettingsModule): void {
  const command = program.command('serve').description('run the mock auth server on 127.0.0.1 for your app to point at')
  if (settings) addSettingFlags(command, settings)
  command
    .option('--open', 'open the live lab page in your browser')
    // A process flag, not a setting: startLab runs in the caller's process and has no parent to outlive.
    .option('--exit-with-parent', 'exit when the process that started serve dies (for `serve &` in scripts and CI)')
    .option('--env <file>', 'read settings from this file (default: .env in the working directory, when present)')
    // Node 20 reads --env-file itself, wherever it stands in argv, and runs the file's NODE_OPTIONS
    // before this code; the old spelling is refused so nobody keeps relying on it.
    .addOption(new Option('--env-file <file>').hideHelp())
    .action(async (options: ServeCommandOptions) => {
      if (options.envFile !== undefined) {
        throw new ConfigError(
          '--env-file: is now --env <file> (Node 20 reads --env-file itself, NODE_OPTIONS included, before refresh-lab runs)',
        )
      }
      await serve(options, settings ?? (await import('../shared/settings.js')))
    })
}

/** Every setting's flag comes from the one list in src/shared/settings.ts. */
function addSettingFlags(command: Command, { SETTING_NAMES, SETTINGS, flagHelp }: SettingsModule): void {
  for (const name of SETTING_NAMES) {
    const def = SETTINGS[name]
    const flag = `--${def.flag}${'arg' in def ? ` ${def.arg}` : ''}`
    if (def.kind === 'list') command.option(flag, flagHelp(name), collect)
    else command.option(flag, flagHelp(name))
  }
}

/** commander's options by setting name: `--user` arrives as `user`, the setting is `users`. */
function settingsFrom(options: ServeCommandOptions, { SETTING_NAMES, SETTINGS }: SettingsModule): ServerFlags {
  const flags: Record<string, unknown> = {}
  for (const name of SETTING_NAMES) {
    const value = options[camelCase(SETTINGS[name].flag)]
    if (value !== undefined) flags[name] = value
  }
  return flags as ServerFlags
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

/** Starts the server, prints where and how, and stops cleanly on SIGINT or SIGTERM. */
async function serve(options: ServeCommandOptions, settingsModule: SettingsModule): Promise<void> {
  const { resolveServerConfig } = await import('../../server/config.js')
  const { startServer } = await import('../../server/start.js')
  const { environmentWithEnvFile } = await import('../../server/env-file.js')
  const config = resolveServerConfig(settingsFrom(options, settingsModule), environmentWithEnvFile(options.env))
  const server = await startServer(config)
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
    `reuse-grace ${formatDuration(config.reuseGraceMs)}${config.reuseGraceCount > 0 ? ` or ${config.reuseGraceCount} reuses` : ''}`,
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
    console.log(`data: ${config.dataDir}${config.fsync ? ' (fsync)' : ''}, ${server.lab.store.size.families} session(s) restored`)
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
