import { type Command, Option } from 'commander'
import { ConfigError } from '../../server/config-error.js'
import type { ServerConfig, ServerFlags } from '../../server/config.js'
import { flagHelp, SETTING_NAMES, SETTINGS } from '../shared/settings.js'
import { collect } from './options.js'

/** commander names an option after its flag (`--user` → `user`); the settings go by their own names. */
export type ServeCommandOptions = Record<string, string | string[] | boolean | undefined> & {
  env?: string
  envFile?: string
  portFile?: string
}

/**
 * The options every command that starts a lab takes (`serve`, `exec`): one flag per setting, from
 * the one list in src/shared/settings.ts, then `--env` and `--port-file`.
 */
export function addServeOptions(command: Command): Command {
  for (const name of SETTING_NAMES) {
    const def = SETTINGS[name]
    const flag = `--${def.flag}${'arg' in def ? ` ${def.arg}` : ''}`
    if (def.kind === 'list') command.option(flag, flagHelp(name), collect)
    else command.option(flag, flagHelp(name))
  }
  return (
    command
      .option('--env <file>', 'read settings from this file (default: .env in the working directory, when present)')
      // A process flag, not a setting: a library caller has `lab.url` and needs no file.
      .option('--port-file <path>', 'once listening, write the port (and a newline) to this file, for `--port 0` in scripts')
      // Node 20 reads --env-file itself, wherever it stands in argv, and runs the file's NODE_OPTIONS
      // before this code; the old spelling is refused so nobody keeps relying on it.
      .addOption(new Option('--env-file <file>').hideHelp())
  )
}

/** The server config from the flags, the `--env` file and the environment; a bad one is a ConfigError. */
export async function resolveServeConfig(options: ServeCommandOptions): Promise<ServerConfig> {
  if (options.envFile !== undefined) {
    throw new ConfigError(
      '--env-file: is now --env <file> (Node 20 reads --env-file itself, NODE_OPTIONS included, before refresh-lab runs)',
    )
  }
  const { resolveServerConfig } = await import('../../server/config.js')
  const { environmentWithEnvFile } = await import('../../server/env-file.js')
  return resolveServerConfig(settingsFrom(options), environmentWithEnvFile(options.env))
}

/** commander's options by setting name: `--user` arrives as `user`, the setting is `users`. */
function settingsFrom(options: ServeCommandOptions): ServerFlags {
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

/**
 * Writes the bound port for the next step of a script. Atomically: the file is written beside the
 * target and renamed over it, so a reader polling for it never sees it empty or half written.
 */
export async function writePortFile(path: string, port: number): Promise<void> {
  const { rename, writeFile } = await import('node:fs/promises')
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, `${port}\n`)
    await rename(temporary, path)
  } catch (error) {
    throw new ConfigError(`--port-file: cannot write ${path}: ${(error as Error).message}`)
  }
}
